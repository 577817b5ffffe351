"""Which new passwords staff may choose: long, not common, not guessable, not their own names.

A guessed staff password opens records of children and DNA results: the rules
refuse what an attacker's word lists try first, in the scripts staff type in.
"""

from __future__ import annotations

import pytest

from registry.accounts.passwords import password_problem


@pytest.mark.parametrize(
    "password",
    [
        "Password123!",  # the most common pattern, dressed up
        "qwertyuiop12",  # a keyboard walk
        "P@ssw0rd2024!",  # l33t spelling of a common password
        "monkey123456",
        "iloveyou1234",
    ],
)
def test_long_but_guessable_passwords_are_refused(password):
    assert password_problem(password) == (
        "This password is too easy to guess. Use a longer one, for example several unrelated words."
    )


@pytest.mark.parametrize("password", ["йцукенгшщзхъ", "ЙцУкЕнГшЩзХъ"])
def test_passwords_on_our_own_list_are_refused_whatever_the_case(password):
    assert password_problem(password) == "This password is on the list of common passwords; choose another."


def test_a_password_made_of_the_persons_own_names_is_refused():
    problem = password_problem("Abdirasulova-Aigerim", username="aabdirasulova", full_name="Aigerim Abdirasulova")
    assert problem == "The password must not contain your name or user name."


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple 42",
        "тихий берег степной реки",  # a Russian passphrase
        "xK9#mQ2!vL7@",
        "z" * 40 + "unrelated words after a long run of one letter " * 3,  # longer than zxcvbn reads
    ],
)
def test_long_unguessable_passwords_are_accepted(password):
    assert password_problem(password, username="clerk1", full_name="Dana Serik") is None
