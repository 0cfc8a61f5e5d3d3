def test_me(api):
    r = api.get("/me")
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "sam"
