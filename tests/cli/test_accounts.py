"""`flask accounts ...`: the first console account is made from the command line; the password is
asked twice and never echoed or stored in clear."""
from app.extensions import services


def test_create_asks_the_password_twice_and_the_account_signs_in(runner, app):
    result = runner.invoke(args=["accounts", "create", "li.wei", "compliance"],
                           input="correct horse battery\ncorrect horse battery\n")
    assert result.exit_code == 0, result.output
    assert "created li.wei (compliance)" in result.output
    assert "correct horse battery" not in result.output
    assert services(app).accounts.sign_in("li.wei", "correct horse battery")
    listed = runner.invoke(args=["accounts", "list"]).output
    assert listed.startswith("li.wei\tcompliance\t")


def test_mismatched_or_short_passwords_and_unknown_roles_are_refused(runner, app):
    mismatch = runner.invoke(args=["accounts", "create", "li.wei", "compliance"],
                             input="correct horse battery\ncorrect horse batterx\n"
                                   "correct horse battery\ncorrect horse battery\n")
    assert "do not match" in mismatch.output and mismatch.exit_code == 0
    short = runner.invoke(args=["accounts", "create", "wang.fang", "admin", "--password", "short"])
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    channel = runner.invoke(args=["accounts", "create", "app", "channel", "--password", "x" * 12])
    assert channel.exit_code == 2 and "'channel' is not one of" in channel.output


def test_password_and_remove(runner, app):
    runner.invoke(args=["accounts", "create", "li.wei", "compliance", "--password", "correct horse battery"])
    assert runner.invoke(args=["accounts", "password", "li.wei", "--password", "another long one"]).exit_code == 0
    assert services(app).accounts.sign_in("li.wei", "another long one")
    assert runner.invoke(args=["accounts", "remove", "li.wei"]).output.strip() == "removed li.wei"
    gone = runner.invoke(args=["accounts", "remove", "li.wei"])
    assert gone.exit_code == 1 and "no account 'li.wei'" in gone.output
