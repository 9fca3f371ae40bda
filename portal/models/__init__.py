"""All typed models, importable from one place; one module per area."""
from portal.db import Base
from portal.models.accounts import Membership, User
from portal.models.sites import Site
from portal.models.chargers import ChargePoint, Connector
from portal.models.tariffs import SubscriptionPlan, Tariff, TariffGroup, UserSubscription
from portal.models.tags import IdTag
from portal.models.charging import MeterValue, OrphanStop, Transaction
from portal.models.favourites import Favourite
from portal.models.actions import ActionRequest
from portal.models.ocpp_log import OcppMessage
from portal.models.spot import SpotPrice
from portal.models.community import AuditEntry, Invite, UserGroup, UserGroupMember
from portal.models.mail import OutboxEmail
from portal.models.support import SavedReply, SupportTicket, TicketMessage, TicketPhoto
from portal.models.sales import ChargerOrder, Lead
from portal.models.faq import FaqArticle, FaqTranslation, FaqVote
from portal.models.login_sessions import LoginSession
from portal.models.fleet_files import DiagnosticsRequest, FirmwareFile, FirmwareRollout, FirmwareUpdate
from portal.models.faults import ChargerConnectionChange, ConnectorStatusChange, Incident
from portal.models.workorders import MaintenanceWindow, WorkOrder, WorkOrderPhoto
from portal.models.fleet import WaitingCharger
from portal.models.incident_parts import IncidentFollower, IncidentStep, SiteFaultSettings
from portal.models.fleet_config import ChargerConfigKey, ConfigTemplate, LocalListState
from portal.models.payments import BankFile, Payment, StatementReminder
from portal.models.payouts import ElectricityBill, SitePayoutTerms
from portal.models.smart import ChargerPower, PowerCircuit, SitePower
from portal.models.statements import (
    DocumentSequence, Notification, Statement, StatementLine, StatementRun,
)

__all__ = [
    "Base", "User", "Membership", "Site", "ChargePoint", "Connector", "Tariff", "TariffGroup",
    "SubscriptionPlan", "UserSubscription", "IdTag", "Transaction", "MeterValue", "OrphanStop",
    "Favourite", "ActionRequest", "OcppMessage", "SpotPrice", "Invite", "UserGroup",
    "UserGroupMember", "AuditEntry", "OutboxEmail", "SupportTicket", "TicketMessage", "TicketPhoto", "SavedReply",
    "ChargerOrder", "Lead", "FaqArticle", "FaqTranslation", "FaqVote", "LoginSession",
    "Statement", "StatementLine", "StatementRun", "DocumentSequence", "Notification",
    "ConnectorStatusChange", "ChargerConnectionChange", "Incident", "WaitingCharger",
    "FirmwareFile", "FirmwareRollout", "FirmwareUpdate", "DiagnosticsRequest",
    "MaintenanceWindow", "WorkOrder", "WorkOrderPhoto",
    "IncidentFollower", "IncidentStep", "SiteFaultSettings", "ConfigTemplate", "ChargerConfigKey",
    "LocalListState", "BankFile", "Payment", "StatementReminder", "ElectricityBill", "SitePayoutTerms",
    "SitePower", "PowerCircuit", "ChargerPower",
]
