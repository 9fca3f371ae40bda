"""Plain-word labels of OCPP 1.6 codes (statuses, actions, errors, stop reasons) and charger types, in the
reader's language; the one catalogue the staff pages read. `label(kind, code)` falls back to the code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Outlet (connector) statuses of StatusNotification.
CONNECTOR_STATUS = {
    "Available": _l("Free"),
    "Preparing": _l("Preparing"),
    "Charging": _l("Charging"),
    "SuspendedEV": _l("Paused by the car"),
    "SuspendedEVSE": _l("Paused by the charger"),
    "Finishing": _l("Finishing"),
    "Reserved": _l("Reserved"),
    "Unavailable": _l("Switched off"),
    "Faulted": _l("Faulted"),
}

# Statuses of answers: boot registration, tag checks and the answers to the system's requests.
ANSWER_STATUS = {
    "Accepted": _l("Accepted"),
    "Pending": _l("Waiting"),
    "Rejected": _l("Refused"),
    "Blocked": _l("Blocked"),
    "Expired": _l("Expired"),
    "Invalid": _l("Not valid"),
    "ConcurrentTx": _l("Already in use"),
    "Scheduled": _l("Scheduled"),
    "RebootRequired": _l("Restart needed"),
    "NotSupported": _l("Not supported"),
    "Unlocked": _l("Unlocked"),
    "UnlockFailed": _l("Could not unlock"),
    "NotImplemented": _l("Not implemented"),
    "Unknown": _l("Unknown"),
    "Occupied": _l("Occupied"),
    "Failed": _l("Failed"),
    "VersionMismatch": _l("Version mismatch"),
    "UnknownMessageId": _l("Unknown message"),
    "UnknownVendorId": _l("Unknown vendor"),
    "Idle": _l("Idle"),
    "Uploading": _l("Uploading"),
    "Uploaded": _l("Uploaded"),
    "UploadFailed": _l("Upload failed"),
    "DownloadScheduled": _l("Download scheduled"),
    "Downloading": _l("Downloading"),
    "DownloadPaused": _l("Download paused"),
    "Downloaded": _l("Downloaded"),
    "DownloadFailed": _l("Download failed"),
    "SignatureVerified": _l("Signature checked"),
    "InvalidSignature": _l("Signature not valid"),
    "InstallScheduled": _l("Installation scheduled"),
    "Installing": _l("Installing"),
    "InstallRebooting": _l("Restarting to install"),
    "Installed": _l("Installed"),
    "InstallationFailed": _l("Installation failed"),
    "InstallVerificationFailed": _l("Installation check failed"),
}

# Every OCPP 1.6 action, by the side that sends it.
ACTION = {
    "Authorize": _l("Card check"),
    "BootNotification": _l("Start-up"),
    "DataTransfer": _l("Vendor data"),
    "DiagnosticsStatusNotification": _l("Diagnostics upload status"),
    "FirmwareStatusNotification": _l("Firmware update status"),
    "Heartbeat": _l("Heartbeat"),
    "MeterValues": _l("Meter reading"),
    "StartTransaction": _l("Session started"),
    "StatusNotification": _l("Outlet status"),
    "StopTransaction": _l("Session stopped"),
    "CancelReservation": _l("Cancel a reservation"),
    "ChangeAvailability": _l("Enable or disable"),
    "ChangeConfiguration": _l("Change a setting"),
    "ClearCache": _l("Clear the card cache"),
    "ClearChargingProfile": _l("Clear a charging profile"),
    "GetCompositeSchedule": _l("Read the charging schedule"),
    "GetConfiguration": _l("Read the settings"),
    "GetDiagnostics": _l("Ask for diagnostics"),
    "GetLocalListVersion": _l("Read the card list version"),
    "RemoteStartTransaction": _l("Remote start"),
    "RemoteStopTransaction": _l("Remote stop"),
    "ReserveNow": _l("Reserve an outlet"),
    "Reset": _l("Restart"),
    "SendLocalList": _l("Send the card list"),
    "SetChargingProfile": _l("Set a charging profile"),
    "TriggerMessage": _l("Ask for a message"),
    "UnlockConnector": _l("Unlock the cable"),
    "UpdateFirmware": _l("Update the firmware"),
    # the security extension of OCPP 1.6
    "CertificateSigned": _l("Send a signed certificate"),
    "DeleteCertificate": _l("Delete a certificate"),
    "ExtendedTriggerMessage": _l("Ask for a message (extended)"),
    "GetInstalledCertificateIds": _l("List the certificates"),
    "GetLog": _l("Ask for a log"),
    "InstallCertificate": _l("Install a certificate"),
    "LogStatusNotification": _l("Log upload status"),
    "SecurityEventNotification": _l("Security event"),
    "SignCertificate": _l("Certificate signing request"),
    "SignedFirmwareStatusNotification": _l("Signed firmware update status"),
    "SignedUpdateFirmware": _l("Update the firmware (signed)"),
}

ERROR_CODE = {
    "ConnectorLockFailure": _l("Cable lock failure"),
    "EVCommunicationError": _l("Cannot talk to the car"),
    "GroundFailure": _l("Earth fault"),
    "HighTemperature": _l("Too hot"),
    "InternalError": _l("Internal error"),
    "LocalListConflict": _l("Card list conflict"),
    "NoError": _l("No error"),
    "OtherError": _l("Other error"),
    "OverCurrentFailure": _l("Over-current"),
    "OverVoltage": _l("Over-voltage"),
    "PowerMeterFailure": _l("Energy meter failure"),
    "PowerSwitchFailure": _l("Power switch failure"),
    "ReaderFailure": _l("Card reader failure"),
    "ResetFailure": _l("Restart failure"),
    "UnderVoltage": _l("Under-voltage"),
    "WeakSignal": _l("Weak signal"),
}

STOP_REASON = {
    "DeAuthorized": _l("the card lost its access"),
    "EmergencyStop": _l("the emergency stop was pressed"),
    "EVDisconnected": _l("the car was unplugged"),
    "HardReset": _l("the charger restarted fully"),
    "Local": _l("stopped at the charger (card or button)"),
    "Other": _l("another reason"),
    "PowerLoss": _l("a power cut"),
    "Reboot": _l("the charger rebooted"),
    "Remote": _l("stopped from the portal"),
    "SoftReset": _l("the charger restarted"),
    "UnlockCommand": _l("the cable was unlocked from the portal"),
}

CALL_ERROR = {
    "NotImplemented": _l("Not implemented"),
    "NotSupported": _l("Not supported"),
    "InternalError": _l("Internal error"),
    "ProtocolError": _l("Protocol error"),
    "SecurityError": _l("Security error"),
    "FormationViolation": _l("Malformed message"),
    "PropertyConstraintViolation": _l("Value out of range"),
    "OccurenceConstraintViolation": _l("Missing field"),
    "OccurrenceConstraintViolation": _l("Missing field"),
    "TypeConstraintViolation": _l("Wrong field type"),
    "GenericError": _l("General error"),
}

CHARGER_TYPE = {
    "public": _l("Shared by the residents"),
    "private": _l("A resident's own (billed)"),
    "personal": _l("A resident's own (not billed)"),
}

CATALOGUE = {"status": CONNECTOR_STATUS, "answer": ANSWER_STATUS, "action": ACTION, "error": ERROR_CODE,
             "reason": STOP_REASON, "callerror": CALL_ERROR, "cp_type": CHARGER_TYPE}


def label(code: str | None, kind: str) -> str:
    """The code in plain words (a status or answer is looked up among both kinds of status); the code itself
    when unknown, '–' when empty."""
    if not code:
        return "–"
    found = CATALOGUE[kind].get(code)
    if found is None and kind in ("status", "answer"):
        found = ANSWER_STATUS.get(code) or CONNECTOR_STATUS.get(code)
    return str(found) if found is not None else code
