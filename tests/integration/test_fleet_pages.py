"""Issue 21 pages and rules without a charger: configuration templates kept by staff (bad input said in
the staff member's language, what was typed kept), the template a charger gets, the tags that belong on
a charger's local list, and how a list is split and diffed."""
from __future__ import annotations

from sqlalchemy import select

from portal.models import ConfigTemplate, IdTag, LocalListState
from portal.services.fleet import config_templates as templates
from portal.services.fleet import local_list
from tests.factories import make_charge_point, make_site, make_user, standard_setup, subscribe

HX = {"HX-Request": "true"}


def test_staff_create_and_edit_a_template_with_bad_input_kept(client, login, session):
    support = make_user(session, "tpl-support@console.test", staff_role="support")
    session.commit()
    login(client, support)
    typed = "HeartbeatInterval=120\nno equals sign here\nMeterValueSampleInterval=30"
    bad = client.post("/staff/config-templates/new", data={"name": "Easee Home", "vendor": "Easee",
                                                            "model": "", "entries": typed}, headers=HX)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Line 2: write the key" in body and "Give both vendor and model" in body
    assert "no equals sign here" in body and 'value="Easee Home"' in body  # what was typed is kept
    client.delete_cookie("lang")  # no choice on this browser: the staff member's own language
    support.language = "nb"
    session.commit()
    nb = client.post("/staff/config-templates/new", data={"name": "", "vendor": "", "model": "", "entries": "=1"},
                     headers=HX)
    assert nb.status_code == 422 and "Linje 1: nøkkelen mangler" in nb.get_data(as_text=True)
    assert "Gi malen et navn." in nb.get_data(as_text=True)
    client.set_cookie("lang", "en")

    good = client.post("/staff/config-templates/new", data={
        "name": "Easee Home", "vendor": "Easee", "model": "Home", "entries": typed.replace("no equals sign here\n", "")
        + "\nVendorSpecialKey=on"})
    assert good.status_code == 303
    row = session.scalar(select(ConfigTemplate).where(ConfigTemplate.vendor == "Easee"))
    assert row.entries == [["HeartbeatInterval", "120"], ["MeterValueSampleInterval", "30"], ["VendorSpecialKey", "on"]]
    listing = client.get("/staff/config-templates").get_data(as_text=True)
    assert "Easee Home" in listing and "Shipped default" in listing

    secret = client.post("/staff/config-templates/new", data={"name": "Leaky", "vendor": "", "model": "",
                                                               "entries": "HeartbeatInterval=60\nauthorizationkey=abc"},
                         headers=HX)
    assert secret.status_code == 422 and "Line 2: the charger secret is never part" in secret.get_data(as_text=True)
    taken = client.post("/staff/config-templates/new", data={"name": "Again", "vendor": "Easee", "model": "Home",
                                                              "entries": "A=1"}, headers=HX)
    assert taken.status_code == 422 and "already have a template" in taken.get_data(as_text=True)
    edited = client.post(f"/staff/config-templates/{row.id}", data={"name": "Easee Home v2", "vendor": "Easee",
                                                                    "model": "Home", "entries": "HeartbeatInterval=60"})
    assert edited.status_code == 303
    session.expire_all()
    assert session.get(ConfigTemplate, row.id).entries == [["HeartbeatInterval", "60"]]
    assert client.get(f"/staff/config-templates/{row.id}").status_code == 200


def test_the_template_a_charger_gets(session):
    assert templates.template_for(session, "X", "Y").template_id is None  # the shipped default
    keys = dict(templates.template_for(session, "X", "Y").entries)
    assert "Current.Import" in keys["MeterValuesSampledData"] and "Power.Active.Import" in keys["MeterValuesSampledData"]
    session.add_all([ConfigTemplate(name="Default", vendor="", model="", entries=[["HeartbeatInterval", "600"]]),
                     ConfigTemplate(name="Zaptec Go", vendor="Zaptec", model="Go", entries=[["A", "1"]])])
    session.flush()
    assert templates.template_for(session, "Zaptec", "Go").name == "Zaptec Go"
    assert templates.template_for(session, "Zaptec", "Pro").name == "Default"
    assert templates.same("MeterValuesSampledData", "A,B", "B, A") and templates.same("X", "true", "True")
    assert not templates.same("X", "30", None)


def test_tags_on_a_chargers_list_follow_the_access_rule(session):
    site = make_site(session, "list-site")
    group, plan = standard_setup(session, site)
    members = {}
    for name, subscribed in (("ann", True), ("ben", False)):
        members[name] = make_user(session, f"{name}@list.test", site=site)
        if subscribed:
            subscribe(session, members[name], plan)
        session.add(IdTag(tag=f"{name.upper()}-1", user_id=members[name].id, kind="rfid"))
    session.add(IdTag(tag="ANN-LOST", user_id=members["ann"].id, kind="rfid", blocked=True))
    cp = make_charge_point(session, site, "CP-LIST-1", group=group)
    personal = make_charge_point(session, site, "CP-LIST-HOME", group=group, cp_type="personal",
                                 owner_id=members["ben"].id)
    session.flush()
    session.refresh(personal)
    assert local_list.tags_for(session, cp) == ["ANN-1"]  # ben has no tariff; a blocked tag never goes
    assert local_list.tags_for(session, personal) == []  # ben owns it but no tariff lets him charge
    assert local_list.tag_site_ids(session, session.scalar(select(IdTag).where(IdTag.tag == "ANN-1"))) == [site.id]


def test_a_list_is_split_capped_and_diffed():
    state = LocalListState(charge_point_id=1, version=0, tags=[], max_length=3, send_max=2, left_out=0)
    plan = local_list.plan(state, ["A", "B", "C", "D"], 0)
    assert [(p.version, p.update_type, len(p.items)) for p in plan.parts] == [(1, "Full", 2), (2, "Differential", 1)]
    assert plan.tags == ["A", "B", "C"] and plan.left_out == 1
    for part in plan.parts:
        local_list.accepted_part(state, part)
    assert state.version == 2 and state.tags == ["A", "B", "C"]
    diff = local_list.plan(state, ["A", "C", "E"], 2)
    assert [(p.version, p.update_type) for p in diff.parts] == [(3, "Differential")]
    assert diff.parts[0].items == [{"idTag": "E", "idTagInfo": {"status": "Accepted"}}, {"idTag": "B"}]
    assert local_list.plan(state, ["A", "B", "C"], 2).parts == []  # nothing changed, nothing sent
    mismatch = local_list.plan(state, ["A", "B", "C"], 7)  # the charger claims a version we never sent
    assert [(p.version, p.update_type) for p in mismatch.parts] == [(8, "Full"), (9, "Differential")]


class LyingCharger:
    """The simulator's own local list (ocpp_server.sim_locallist), behind a charger that reports the version
    we sent but holds a newer one: its answer to our differential update is VersionMismatch."""

    def __init__(self) -> None:
        from ocpp_server.sim_locallist import LocalList

        self.config = {"LocalAuthListEnabled": "true", "SendLocalListMaxLength": "50", "LocalAuthListMaxLength": "100"}
        self.list = LocalList(version=5, entries={"OLD-TAG": "Accepted"})
        self.calls: list[tuple] = []

    def __call__(self, action: str, payload: dict) -> dict:
        self.calls.append((action, payload.get("listVersion"), payload.get("updateType")))
        if action == "GetLocalListVersion":  # asked again after the mismatch, it tells the truth
            return {"listVersion": self.list.version}
        items = payload.get("localAuthorizationList") or []
        return {"status": self.list.update(self.config, payload["listVersion"], payload["updateType"], items)}


def test_a_version_mismatch_answer_is_followed_by_the_full_list(db, session):
    from worker.jobs.fleet import _send

    site = make_site(session, "mismatch-site")
    cp = make_charge_point(session, site, "CP-MISMATCH")
    session.add(LocalListState(charge_point_id=cp.id, version=2, tags=["A-1"], outcome="Accepted", left_out=0,
                               last_kind="Full", detail=""))
    session.commit()
    charger = LyingCharger()
    assert _send(db, charger, cp.id, ["A-1", "B-2"], 2, False) == "Accepted"
    assert charger.calls == [("SendLocalList", 3, "Differential"), ("GetLocalListVersion", None, None),
                             ("SendLocalList", 6, "Full")]
    assert sorted(charger.list.entries) == ["A-1", "B-2"] and charger.list.version == 6
    session.expire_all()
    state = session.get(LocalListState, cp.id)
    assert (state.version, state.last_kind, state.outcome, state.tags) == (6, "Full", "Accepted", ["A-1", "B-2"])
