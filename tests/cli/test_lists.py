"""`flask lists import|changes|approve|reject`: an import with an admin's key (recorded in the access
log under that key's name), rows that relax a control pending by line, approved or rejected by
another person's key (never the maker's)."""
from app.extensions import services
from app.services.access_audit import AuditSearch
from support.keys import KEYS

CSV = ("list,kind,value,reason\n"
       "blacklist,device,DEV-CLI-0001,emulator farm\n"
       "whitelist,device,DEV-CLI-0002,branch tablet\n")


def pending_change(runner):
    [change] = services(runner.app).lists.changes()["items"]
    return str(change["id"])


def test_an_import_needs_a_known_key_and_holds_rows_that_relax_a_control(runner, tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text(CSV, encoding="utf-8")
    assert runner.invoke(args=["lists", "import", str(path), "--key", "no-such-key"]).exit_code == 1
    refused = runner.invoke(args=["lists", "import", str(path), "--key", KEYS["compliance"]])
    assert refused.exit_code == 1 and "needs admin" in refused.output
    done = runner.invoke(args=["lists", "import", str(path), "--key", KEYS["admin"]])
    assert done.exit_code == 0, done.output
    change = pending_change(runner)
    assert f"{path}:3: pending change {change} (whitelist device ****0002)" in done.output
    assert "1 added, 0 updated, 0 unchanged, 0 rejected, 1 pending" in done.output
    events, _ = services(runner.app).access_audit.search(AuditSearch(action="lists.import"))
    assert [(e["actor"], e["details"]["added"], e["details"]["pending"]) for e in events] == [("test-admin", 1, 1)]

    listed = runner.invoke(args=["lists", "changes"])
    assert listed.exit_code == 0 and f"{change}\tpending\tadd\twhitelist\tdevice\t****0002" in listed.output
    own = runner.invoke(args=["lists", "approve", change, "--key", KEYS["admin"], "--reason", "mine"])
    assert own.exit_code == 1 and "another person than its maker" in own.output
    approved = runner.invoke(args=["lists", "approve", change, "--key", KEYS["approver"], "--reason", "checked"])
    assert approved.exit_code == 0 and f"change {change} approved: entry" in approved.output
    shown = runner.invoke(args=["lists", "show", "whitelist"])
    assert "****0002" in shown.output
    assert runner.invoke(args=["lists", "changes"]).output == ""
    assert "approved by test-approver" in runner.invoke(args=["lists", "changes", "--state", "all"]).output


def test_a_pending_change_can_be_rejected_from_the_shell(runner, tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text(CSV, encoding="utf-8")
    runner.invoke(args=["lists", "import", str(path), "--key", KEYS["admin"]])
    change = pending_change(runner)
    rejected = runner.invoke(args=["lists", "reject", change, "--key", KEYS["approver"], "--reason", "not ours"])
    assert rejected.exit_code == 0 and f"change {change} rejected" in rejected.output
    assert "****0002" not in runner.invoke(args=["lists", "show", "whitelist"]).output
    again = runner.invoke(args=["lists", "approve", change, "--key", KEYS["approver"], "--reason", "late"])
    assert again.exit_code == 1 and "is rejected" in again.output


# A maker's reason made to forge what the checker reads in `flask lists changes`: a tab and a
# newline draw a second, made-up line; an escape sequence rewrites the terminal.
FORGED = ("whitelisted after review\t2099-12-31\tby someone.else\n"
          "99\tpending\tadd\twhitelist\tdevice\t****9999\tlooks fine")
ESCAPES = "branch tablet\x1b[2J\x1b]8;;https://attacker.example/\x07click\x1b]8;;\x07"
# what a C1 terminal reads as ESC [ (CSI), and a right-to-left override that reorders the line
C1_AND_BIDI = ("tablet\x9b2J", "tablet \u202enimda-tset yb")


def test_a_reason_with_control_characters_is_refused_by_the_import_and_the_api(runner, tmp_path, client):
    path = tmp_path / "lists.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        import csv
        writer = csv.writer(handle)
        writer.writerow(["list", "kind", "value", "reason"])
        writer.writerow(["whitelist", "device", "DEV-CLI-0003", FORGED])
        writer.writerow(["whitelist", "device", "DEV-CLI-0004", ESCAPES])
        for number, reason in enumerate(C1_AND_BIDI):
            writer.writerow(["whitelist", "device", f"DEV-CLI-001{number}", reason])
    done = runner.invoke(args=["lists", "import", str(path), "--key", KEYS["admin"]])
    assert done.exit_code == 1 and "0 added" in done.output and "4 rejected" in done.output, done.output
    assert "control characters" in done.output
    answer = client.post("/v1/lists/whitelist/entries", headers={"X-API-Key": KEYS["admin"]},
                         json={"kind": "device", "value": "DEV-CLI-0005", "reason": ESCAPES})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["details"] == {"reason": ["must not hold control characters"]}
    assert services(runner.app).lists.changes()["items"] == []


def test_a_stored_reason_with_control_characters_is_listed_on_one_line_escaped(runner, app):
    """A reason stored before it was checked (or written into the database) is shown escaped:
    one entry, one line, nothing the terminal runs."""
    from sqlalchemy import update
    from app.storage.models import ListChange
    from app.services.lists import NewEntry
    from app.services.access import Principal
    made = services(app).lists.add(NewEntry("whitelist", "device", "DEV-CLI-0006", "tablet"),
                                   Principal("test-admin", "admin"))
    assert made["result"] == "pending"
    with services(app).database.session() as session:
        session.execute(update(ListChange).values(reason=FORGED + ESCAPES))
        session.commit()
    listed = runner.invoke(args=["lists", "changes"])
    assert listed.exit_code == 0
    assert len(listed.output.splitlines()) == 1 and "\x1b" not in listed.output, listed.output
    assert "\\t2099-12-31\\tby someone.else\\n99" in listed.output
