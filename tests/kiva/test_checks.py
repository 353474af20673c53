from integrations.kiva.checks import sandbox_off_in_production


def test_deploy_check_warns_when_the_sandbox_is_on_in_production(settings):
    settings.PRODUCTION, settings.KIVA_SANDBOX_ENABLED = True, True
    assert [w.id for w in sandbox_off_in_production(None)] == ["kiva.W001"]
    settings.KIVA_SANDBOX_ENABLED = False
    assert sandbox_off_in_production(None) == []
