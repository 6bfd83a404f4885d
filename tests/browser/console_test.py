#!/usr/bin/python3
"""The web console in a real browser (docs/console.md): Debian's chromium,
driven by Debian's python3-selenium, against `casegrid serve` on a scratch
data directory. A window clerk signs in and takes a case in; the centre
dispatches it; the village station finds it in its inbox, contacts the
petitioner and answers; the centre closes it; the citizen follows and rates
it; the director's dashboard counts it closed on time and drills down to the
station's cases; a supervisor compares versions and runs a draft over the
recorded cases; a station of another town gets the 403 page for it; a
citizen submits a demand online and follows it with the receipt. On the
way, the window clerk attaches a photo (a file of the wrong type refused
first) and the station a personal document, through the case page's form;
the list shows the photo's thumbnail and the document's personal badge, and
the other town's station cannot read either through the API.

Usage: console_test.py CASEGRID_BINARY. Exit 0 when every step holds, 1 at
the first that does not (saying which), 77 (skipped) when chromium,
chromedriver or selenium is missing (./run test installs them).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    print("skipped: python3-selenium is not installed")
    sys.exit(77)

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not os.path.exists(CHROMEDRIVER) or not shutil.which("chromium"):
    print("skipped: chromium and chromium-driver are not installed")
    sys.exit(77)

BINARY = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="casegrid-browser-")
DATA = os.path.join(WORK, "data")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CASEGRID_")}
PASSWORD = "correct horse battery"


def casegrid(*args, stdin=None):
    done = subprocess.run([BINARY, "--data", DATA, *args], input=stdin, capture_output=True,
                          text=True, env=ENV, cwd=WORK, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"casegrid {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def person(user, name, role, unit):
    casegrid("users", "add", user, "--name", name)
    casegrid("users", "grant", user, role, unit)
    casegrid("users", "passwd", user, stdin=PASSWORD + "\n")


person("w01", "窗口 李娜", "window", "371302")
person("c01", "中心 赵强", "centre", "371302")
person("u01", "村站 张伟", "unit", "371302-001-001")
person("t9", "他镇 王五", "unit", "371302-002-001")
person("s01", "流程 陈静", "supervisor", "371302")

server = subprocess.Popen([BINARY, "--data", DATA, "serve", "--listen", "127.0.0.1:0"],
                          stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "serve.err"), "w"),
                          text=True, env=ENV, cwd=WORK)
first = server.stdout.readline()
if not first.startswith("listening on http://127.0.0.1:"):
    raise SystemExit("serve did not start: " + first + open(os.path.join(WORK, "serve.err")).read())
BASE = first.strip().split(" ")[-1]

options = Options()
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=1280,1000", "--lang=zh-CN"):
    options.add_argument(arg)
browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
wait = WebDriverWait(browser, 60)  # generous: CI runs it beside other tests
step = "start"


def find(css):
    return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def expect_text(css, text):
    """Waits until the element `css` shows exactly `text` (the page re-renders after a command)."""
    wait.until(lambda b: any(e.text == text for e in b.find_elements(By.CSS_SELECTOR, css)))


def sign_in(user):
    browser.get(BASE + "/console/#/login")
    browser.execute_script("sessionStorage.clear()")
    browser.get(BASE + "/console/#/login")
    find("#user").send_keys(user)
    find("#password").send_keys(PASSWORD)
    find("#signin").click()
    wait.until(lambda b: user in b.find_element(By.ID, "who").text and b.current_url.endswith("#/"))


def png(width=16, height=12):
    """A real PNG (so the thumbnail renders): red, `width` x `height`."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xc8\x1e\x1e" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def scratch_file(name, content):
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def attach(path, note="", personal=False):
    """Sends `path` through the case page's upload form (the page is shown)."""
    form = find("#attach-form")
    form.find_element(By.ID, "attach-file").send_keys(path)
    note_field = form.find_element(By.ID, "attach-note")
    note_field.clear()
    note_field.send_keys(note)
    if form.find_element(By.ID, "attach-personal").is_selected() != personal:
        form.find_element(By.ID, "attach-personal").click()
    form.find_element(By.ID, "attach-submit").click()


def api_status(path, token):
    """The HTTP status of GET `path` with `token`."""
    request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


def fill_intake(summary, name=None):
    """The window's intake form filled for 王芳's wages at the reference cell."""
    browser.get(BASE + "/console/#/intake")
    form = find("#intake-form")
    Select(form.find_element(By.NAME, "channel")).select_by_value("window")
    form.find_element(By.NAME, "category").send_keys("village-affairs")
    form.find_element(By.NAME, "grid").send_keys("371302-001-001-01")
    form.find_element(By.NAME, "summary").send_keys(summary)
    if name:
        form.find_element(By.NAME, "petitioner.name").send_keys(name)
    form.find_element(By.NAME, "petitioner.phone").send_keys("13912345678")
    return form


def act(case_id, action, values=None):
    browser.get(f"{BASE}/console/#/case/{case_id}")
    form = find(f'form[data-action="{action}"]')
    for name, value in (values or {}).items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, f'form[data-action="{action}"]'))


try:
    step = "a wrong password is refused in Chinese"
    browser.get(BASE + "/")
    find("#user").send_keys("w01")
    find("#password").send_keys("not the password")
    find("#signin").click()
    assert find("#login-error").text == "账号或密码错误", browser.page_source

    step = "the window clerk takes a case in"
    sign_in("w01")
    form = fill_intake("工资拖欠三个月", name="王芳")
    form.find_element(By.NAME, "category").click()  # the grid's change: the suggestion
    assert "371302-001-001" in find("#suggestion").text, find("#suggestion").text
    find("#intake-submit").click()
    case_id = find("#receipt-case").text
    code = find("#receipt-code").text
    assert case_id.startswith("W-") and len(code) == 14, (case_id, code)

    step = "the window clerk attaches a photo on the case page, a wrong type refused"
    browser.get(f"{BASE}/console/#/case/{case_id}")
    find("#no-attachments")
    assert not browser.find_elements(By.CSS_SELECTOR, 'form[data-action="attach"]')  # no fields form
    attach(scratch_file("fake.png", b"not a picture at all"))
    assert "image/png" in find("#attach-error").text, find("#attach-error").text
    attach(scratch_file("现场照片.png", png()), note="入户现场")
    thumb = find('#attachments tr.attachment img.thumb[src^="blob:"]')
    wait.until(lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb) == 16)
    photo = find("#attachments tr.attachment")
    assert "现场照片.png" in photo.text and "入户现场" in photo.text and "image/png" in photo.text, photo.text
    assert not photo.find_elements(By.CSS_SELECTOR, ".badge.personal"), photo.text
    photo_sha = photo.get_attribute("data-sha256")
    assert len(photo_sha) == 64, photo_sha

    step = "the centre dispatches it where the responsibility list says: the grid cell's station"
    sign_in("c01")
    browser.get(f"{BASE}/console/#/case/{case_id}")
    hint = find('form[data-action="dispatch"] .suggested')
    assert hint.get_attribute("data-unit") == "371302-001-001" and "责任清单" in hint.text, hint.text
    act(case_id, "dispatch")
    expect_text("#case-state", "dispatched")

    step = "the village station finds it in its inbox, contacts the petitioner and answers"
    sign_in("u01")
    browser.get(BASE + "/console/#/inbox/371302-001-001")
    row = find(f'tr[data-case="{case_id}"]')
    assert "工资拖欠三个月" in row.text, row.text
    row.find_element(By.TAG_NAME, "a").click()
    find('form[data-action="contact"]')
    act(case_id, "contact", {"method": "visit"})
    act(case_id, "respond", {"answer": "已协调用人单位，工资本周发放"})
    expect_text("#case-state", "responded")
    timeline = find("#timeline").text
    assert "contact" in timeline and "respond" in timeline, timeline

    step = "the station attaches a personal document to its own case"
    attach(scratch_file("agreement.txt", "王芳 13912345678 工资支付协议\n".encode()), note="签字协议",
           personal=True)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#attachments tr.attachment")) == 2)
    document = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#attachments tr.attachment")
                    if r.get_attribute("data-sha256") != photo_sha)
    assert document.find_element(By.CSS_SELECTOR, ".badge.personal").text == "个人信息", document.text
    assert "agreement.txt" in document.text and "签字协议" in document.text, document.text
    document.find_element(By.CSS_SELECTOR, "button.open-attachment")  # fetched only on a click
    document_sha = document.get_attribute("data-sha256")
    find('#attachments img.thumb[src^="blob:"]')  # the photo, as the station sees it

    step = "the centre closes it"
    sign_in("c01")
    act(case_id, "close", {"note": "办结"})
    expect_text("#case-state", "closed")

    step = "the citizen follows the case with the receipt and rates the answer"
    browser.execute_script("sessionStorage.clear()")
    browser.get(BASE + "/console/#/citizen")
    find("#follow-case").send_keys(case_id)
    find("#follow-code").send_keys(code)
    find("#follow-submit").click()
    expect_text("#citizen-state", "closed")
    assert "工资本周发放" in find("#citizen-answer").text
    find("#rate-yes").click()
    find("#rate-submit").click()
    expect_text("#citizen-note", "感谢您的评价")
    find("#follow-case").clear()
    find("#follow-case").send_keys(case_id)
    find("#follow-code").send_keys("AAAA-AAAA-AAAA")
    find("#follow-submit").click()
    assert "工资" not in find("#app").text
    find("#follow-error")

    step = "the director's dashboard counts it closed on time, the petitioner satisfied"
    sign_in("c01")
    browser.get(BASE + "/console/#/dashboard")
    totals = find("#totals").text
    assert totals.count("100%") == 2, totals  # on time, and satisfied
    find("#chart")
    # The towns ranked: the case's town first, its deadlines all on time.
    first = find("#scorecard tr.score-row")
    assert first.get_attribute("data-code") == "371302-001", first.text
    assert first.text.startswith("1 ") and "100%" in first.text, first.text

    step = "the director drills down from the station's figures to its cases"
    find('a.drill[href="#/cases/371302-001-001"]').click()
    find(f'#cases tr.case-row[data-case="{case_id}"]')

    step = "a supervisor compares versions and runs a draft over the recorded cases"
    sign_in("s01")
    browser.get(BASE + "/console/#/workflows/petition-125")
    find("#diff-submit").click()  # version 5 against 6: the lead asks units to support it
    find("#diff-result li.change")  # waits for the result
    changes = " ".join(li.text for li in browser.find_elements(By.CSS_SELECTOR, "#diff-result li.change"))
    assert "request_support" in changes, changes
    draft = find("#whatif-yaml")
    browser.execute_script(
        "arguments[0].value = arguments[0].value.replace('\\nversion: 6\\n', '\\nversion: 7\\n')",
        draft)
    find("#whatif-submit").click()
    table = find("#whatif-table").text
    assert "现行" in table and "草案" in table, table

    step = "a station of another town gets the 403 page"
    sign_in("t9")
    browser.get(f"{BASE}/console/#/case/{case_id}")
    assert "403" in find("#denied").text
    assert "13912345678" not in browser.page_source

    step = "the other town's station cannot read the case's attachments through the API"
    other = browser.execute_script("return sessionStorage.getItem('casegrid.token')")
    for path in (f"/v1/cases/{case_id}/attachments", f"/v1/cases/{case_id}/attachments/{photo_sha}",
                 f"/v1/cases/{case_id}/attachments/{document_sha}"):
        status = api_status(path, other)
        assert status == 403, (path, status)

    step = "the same petitioner comes back on the same matter: a repeat, linked on its case page"
    sign_in("w01")
    fill_intake("工资仍未发放")
    find("#intake-submit").click()
    repeat_id = find("#receipt-case").text
    assert repeat_id != case_id, repeat_id
    browser.get(f"{BASE}/console/#/case/{repeat_id}")
    assert find("#case-repeat-of").text == case_id, find("#case-facts").text
    assert case_id in find("#linked").text, find("#linked").text

    step = "a citizen submits a demand online and follows it with the receipt"
    browser.execute_script("sessionStorage.clear()")
    browser.get(BASE + "/console/#/citizen")
    find("#demand-category").send_keys("noise")
    find("#demand-grid").send_keys("371302-001-001-01")
    find("#demand-summary").send_keys("楼下夜间施工")
    find("#demand-phone").send_keys("13700001111")
    find("#demand-submit").click()
    online_case = find("#demand-case").text
    online_code = find("#demand-code").text
    assert online_case.startswith("N-") and len(online_code) == 14, (online_case, online_code)
    find("#follow-case").send_keys(online_case)
    find("#follow-code").send_keys(online_code)
    find("#follow-submit").click()
    expect_text("#citizen-state", "received")
    assert "楼下夜间施工" in find("#citizen-case").text

    step = "the English switch"
    find("#lang").click()
    wait.until(lambda b: b.find_element(By.ID, "brand").text == "Social Governance Service Centre")
except Exception as e:  # noqa: BLE001 - any failure names its step
    print(f"FAILED at: {step}: {type(e).__name__}: {e}")
    print(open(os.path.join(WORK, "serve.err")).read()[-3000:])
    sys.exit(1)
finally:
    browser.quit()
    server.terminate()
    server.wait(timeout=30)

verified = casegrid("verify")
print("ok: the console's flow held;", verified.strip().splitlines()[0])
shutil.rmtree(WORK, ignore_errors=True)
