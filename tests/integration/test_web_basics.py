from tests.factories import PASSWORD, make_user


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_503_when_redis_is_down(app_config, db):
    from portal import create_app

    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "error" and response.json["database"] == "ok"


def test_login_page_and_login_flow(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": "ann@example.test", "password": PASSWORD})
    assert response.status_code == 303


def test_wrong_password_is_422_with_message(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    response = client.post("/login", data={"email": "ann@example.test", "password": "nope"})
    assert response.status_code == 422
    assert b"Wrong e-mail or password" in response.data
    assert b'value="ann@example.test"' in response.data  # what was typed is kept


def test_login_form_validation(client):
    response = client.post("/login", data={"email": "not-an-email", "password": ""})
    assert response.status_code == 422
    response = client.post("/login", data={"email": "a" * 300 + "@x.no", "password": "x"})
    assert response.status_code == 422


def test_login_without_csrf_is_refused(raw_client, session):
    make_user(session, "ann@example.test")
    session.commit()
    response = raw_client.post("/login", data={"email": "ann@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert b"expired" in response.data


def test_unsafe_next_is_ignored(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    response = client.post("/login", data={"email": "ann@example.test", "password": PASSWORD,
                                            "next": "https://evil.example/"})
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_default_language_is_bokmal(app):
    response = app.test_client().get("/login")
    assert b'<html lang="nb">' in response.data


def test_accept_language_and_cookie_choose_language(app):
    c = app.test_client()
    assert b'lang="sv"' in c.get("/login", headers={"Accept-Language": "sv-SE,sv;q=0.9"}).data
    c.set_cookie("lang", "en")
    assert b'<html lang="en">' in c.get("/login", headers={"Accept-Language": "sv"}).data


def test_404_page_in_same_style(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b'data-testid="error-404"' in response.data


def test_static_assets_carry_a_content_hash_and_are_cached_long(client):
    page = client.get("/login").get_data(as_text=True)
    import re

    url = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = client.get(url)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert "immutable" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")
