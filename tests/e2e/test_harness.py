"""The harness itself: the audit fails on what it must catch, so a green run means something."""

import pytest


def test_audit_fails_on_a_critical_axe_violation(tab):
    tab.goto("/login")
    tab.page.evaluate("() => document.querySelector('main').append(Object.assign(document.createElement('img'), "
                      "{src: '/static/css/kizuna.css'}))")
    with pytest.raises(AssertionError, match=r"\[critical\] image-alt"):
        tab.audit()


def test_audit_fails_on_an_unlabelled_control(tab):
    tab.goto("/login")
    tab.page.evaluate("() => document.querySelector('main').append(document.createElement('textarea'))")
    with pytest.raises(AssertionError, match="label"):
        tab.audit()


def test_a_page_loaded_behind_the_harness_back_is_reported(tab):
    tab.goto("/login")
    tab.page.goto(tab.url("/password/forgot"))  # not through tab.goto: never audited
    problems = tab.check_finished()
    assert problems == [f"pages loaded without an accessibility audit: ['{tab.base_url}/password/forgot']"]
    tab.audit()  # so that the fixture's own check passes
