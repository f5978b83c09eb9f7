"""The chat widget in a real browser (headless Chromium through Playwright) against the
real app: real index, real retrieval, real SQLite, real SSE over HTTP; only the model is
scripted (FakeLLM with a per-piece delay, so streaming is visible).

Pages: the demo course site at / (same origin, strict CSP), the old hostile-CSS page kept
as a fixture at /hostile (tests/fixtures/hostile_host.html.j2), and third-party "host sites"
served from another port, which embed the widget with one script tag and make every API
call a real cross-origin request (CORS).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from tutor.answer import Tutor
from tutor.api import create_app
from tutor.db import make_engine
from tutor.index import load_index
from tutor.llm.fake import FakeLLM, extractive_reply
from tutor.models import Feedback, Learner, QuizItem
from tests.widget_server import add_hostile_route, free_port, host_page, serve_app, serve_pages

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"

ANSWER = ("Start with **stage 1**: Python, linear algebra and introductory statistics [1].\n\n"
          "- Learn the *supervised-learning* workflow with `scikit-learn` [1]\n"
          "- Pick one small real data set and keep improving a model on it [2]\n\n"
          "The [scikit-learn user guide](https://scikit-learn.org/stable/user_guide.html) "
          "is a good companion.")
XSS_QUESTION = "How do I build a portfolio of machine learning projects?"
XSS_ANSWER = ('Careful with <img src=x onerror="window.__pwned=1"> and '
              '[click](javascript:window.__pwned=2) and <script>window.__pwned=3</script> in a '
              'portfolio page [1].')


def scripted(messages) -> str:
    prompt = messages[-1]["content"]
    if "Follow-up:" in prompt:  # condensing a follow-up question
        return extractive_reply(messages)
    question = re.search(r"^Question: (.+)$", prompt, re.M)
    # Open with a sentence copied from the first source, so the answer is supported and
    # not withdrawn (an answer with no supported sentence is replaced at the end).
    grounded = extractive_reply(messages)
    body = XSS_ANSWER if question and question.group(1).strip() == XSS_QUESTION else ANSWER
    return f"{grounded}\n\n{body}"


@pytest.fixture(scope="module")
def live(corpus_index, embedder, tmp_path_factory):
    """The real app on a loopback port: yields (base_url, engine)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('widget-db') / 'tutor.db'}")
    # These tests are about rendering the model's Markdown and hostile text, which the
    # support check would cut as unsupported; test_held_back_sentences_* covers the check.
    # The host sites below run on other loopback ports: those origins must be allowed (CORS is
    # same-origin only by default), the way a site owner lists theirs in TUTOR_CORS_ORIGINS.
    settings = corpus_index.model_copy(update={"hold_back_unsupported": False,
                                               "cors_origins": ["https://learner-site.example"],
                                               "cors_origin_regex": r"http://127\.0\.0\.1:\d+"})
    tutor = Tutor(settings, load_index(corpus_index.index_dir), embedder, FakeLLM(scripted, delay=0.02))
    app = create_app(settings, tutor=tutor, engine=engine)
    add_hostile_route(app)
    with serve_app(app) as base:
        yield base, engine


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


# --- helpers --------------------------------------------------------------------------------

def open_widget(page):
    page.locator("roadmap-tutor .launcher").click()
    expect(page.locator("roadmap-tutor [role=dialog]")).to_be_visible()
    page.evaluate("""() => Promise.all(document.querySelector('roadmap-tutor').shadowRoot
                     .querySelector('.panel').getAnimations().map(a => a.finished))""")  # opening animation


def ask(page, question: str):
    box = page.locator("roadmap-tutor textarea")
    box.fill(question)
    box.press("Enter")


def last_answer(page):
    return page.locator("roadmap-tutor .msg.bot").last


def wait_answered(page):
    """An answer is complete when its thumbs appear (they need the server's message id)."""
    expect(last_answer(page).locator(".feedback")).to_be_visible()


def shadow(page, expression: str):
    """Evaluate `expression` with `root` bound to the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.querySelector('roadmap-tutor').shadowRoot; "
                         f"return {expression}; }}")


RECORD_STREAM = """() => {
  const root = document.querySelector('roadmap-tutor').shadowRoot;
  window.__seen = [];
  new MutationObserver(() => {
    const bot = [...root.querySelectorAll('.msg.bot')].pop();
    if (bot) window.__seen.push({length: bot.querySelector('.bubble')?.textContent.length || 0,
                                 done: !!bot.querySelector('.feedback')});
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


# --- tests ----------------------------------------------------------------------------------

def test_demo_page_streams_an_answer_with_sources(live, page):
    base, _ = live
    page.goto(base + "/")
    open_widget(page)
    page.evaluate(RECORD_STREAM)
    ask(page, "Where should a complete beginner start the roadmap?")
    wait_answered(page)

    seen = page.evaluate("window.__seen")
    final = last_answer(page).locator(".bubble").inner_text()
    partial = [s["length"] for s in seen if not s["done"] and 0 < s["length"] < len(final) * 0.8]
    assert len(set(partial)) >= 3, f"no growing partial answer observed before done: {seen[:20]}"

    answer = last_answer(page)
    expect(answer.locator(".bubble")).to_contain_text("Python, linear algebra")
    # the Markdown subset, as DOM elements
    expect(answer.locator(".bubble strong")).to_have_text("stage 1")
    expect(answer.locator(".bubble em")).to_have_text("supervised-learning")
    expect(answer.locator(".bubble code")).to_have_text("scikit-learn")
    expect(answer.locator(".bubble li")).to_have_count(2)
    expect(answer.locator(".bubble a")).to_have_attribute(
        "href", "https://scikit-learn.org/stable/user_guide.html")
    assert answer.locator(".bubble .cite").count() >= 1
    assert "**" not in final and "`" not in final

    chips = answer.locator(".sources .chip")
    expect(chips.first).to_be_visible()
    assert chips.first.locator(".chip-title").inner_text().strip()
    expect(chips.first.locator(".chip-stage")).to_have_text(re.compile(r"Stage \d"))

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "widget.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=str(shot))
    assert shot.exists() and shot.stat().st_size > 10_000


def test_conversation_survives_a_reload(live, page):
    base, _ = live
    page.goto(base + "/")
    open_widget(page)
    question = "How many hours per week should I plan for the roadmap?"
    ask(page, question)
    wait_answered(page)
    answer = last_answer(page).locator(".bubble").inner_text()
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':conversation'))")
    assert len(stored) == 1

    page.reload()
    open_widget(page)
    expect(page.locator("roadmap-tutor .msg.user .bubble")).to_have_text([question])
    expect(last_answer(page).locator(".bubble")).to_have_text(answer, use_inner_text=True)
    expect(last_answer(page).locator(".sources .chip").first).to_be_visible()

    # a follow-up continues the same conversation on the server
    ask(page, "And what comes after that?")
    wait_answered(page)
    expect(page.locator("roadmap-tutor .msg.user")).to_have_count(2)


def test_forgotten_conversation_starts_fresh(live, page):
    base, _ = live
    page.goto(base + "/")
    page.evaluate("""base => localStorage.setItem('roadmap-tutor:' + base + ':conversation',
                                                  'no-such-conversation')""", base)
    page.reload()
    open_widget(page)
    expect(page.locator("roadmap-tutor .welcome")).to_be_visible()
    ask(page, "Where should a complete beginner start the roadmap?")
    wait_answered(page)
    kept = page.evaluate("base => localStorage.getItem('roadmap-tutor:' + base + ':conversation')", base)
    assert kept and kept != "no-such-conversation"


def test_model_output_is_rendered_as_inert_text(live, page):
    base, _ = live
    page.goto(base + "/")
    open_widget(page)
    ask(page, XSS_QUESTION)
    wait_answered(page)
    page.wait_for_timeout(200)  # give any injected handler a chance to run

    assert page.evaluate("window.__pwned") is None
    assert shadow(page, "root.querySelectorAll('img, script, iframe, object').length") == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    hrefs = shadow(page, "[...root.querySelectorAll('[href]')].map(e => e.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], hrefs
    bubble = last_answer(page).locator(".bubble")
    expect(bubble).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(bubble).to_contain_text("[click](javascript:window.__pwned=2)")
    expect(bubble).to_contain_text("<script>window.__pwned=3</script>")


def test_held_back_sentences_leave_the_bubble_when_the_answer_is_checked(corpus_index, embedder, tmp_path, page):
    invented = "Graduates of stage 2 receive a gold medal from the Pope in week 97."

    def draft(messages):
        return f"{extractive_reply(messages)} {invented}"

    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    tutor = Tutor(corpus_index, load_index(corpus_index.index_dir), embedder, FakeLLM(draft, delay=0.02))
    with serve_app(create_app(corpus_index, tutor=tutor, engine=engine)) as base:
        page.goto(base + "/")
        open_widget(page)
        page.evaluate(RECORD_STREAM)
        ask(page, "What does stage 2 cover?")
        wait_answered(page)
    answer = last_answer(page)
    expect(answer.locator(".bubble")).not_to_contain_text("medal")  # the draft showed it while streaming
    final = len(answer.locator(".bubble").text_content())
    assert page.evaluate("Math.max(...window.__seen.filter(s => !s.done).map(s => s.length))") > final
    note = answer.locator(".held-back")
    expect(note).to_have_text("1 sentence was left out: the roadmap material does not support it.")
    assert note.get_attribute("title") == invented
    expect(answer.locator(".sources .chip").first).to_be_visible()


def test_embedded_on_another_site_uses_cors(live, page):
    base, _ = live
    pages = {"/": host_page(f'<script src="{base}/widget.js"></script>')}
    with serve_pages(pages) as site:
        page.goto(site + "/")
        expect(page.locator("roadmap-tutor .launcher")).to_be_visible()
        open_widget(page)
        ask(page, "Where should a complete beginner start the roadmap?")
        wait_answered(page)
        expect(last_answer(page).locator(".sources .chip").first).to_be_visible()


def test_service_down_shows_a_clear_message(live, page):
    base, _ = live
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    pages = {"/": host_page(f'<script src="{base}/widget.js" data-tutor-url="{dead}"></script>')}
    with serve_pages(pages) as site:
        page.goto(site + "/")
        open_widget(page)
        ask(page, "Is anyone there?")
        expect(page.locator("roadmap-tutor .notice")).to_contain_text("The tutor is unavailable right now")
        expect(page.locator("roadmap-tutor .msg.user .bubble")).to_have_text(["Is anyone there?"])
        box = page.locator("roadmap-tutor textarea")
        expect(box).to_be_enabled()
        expect(box).to_be_focused()
        box.fill("still typing")
        expect(box).to_have_value("still typing")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget-unavailable.png"))


def test_server_error_shows_the_same_message(live, page):
    base, _ = live
    page.route("**/api/chat", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"detail": "the model is loading"}'))
    page.goto(base + "/")
    open_widget(page)
    ask(page, "Where should a complete beginner start the roadmap?")
    expect(page.locator("roadmap-tutor .notice")).to_contain_text("The tutor is unavailable right now")
    expect(page.locator("roadmap-tutor .notice button")).to_have_text("Try again")

    page.unroute("**/api/chat")
    page.locator("roadmap-tutor .notice button").click()
    wait_answered(page)
    expect(page.locator("roadmap-tutor .notice")).to_have_count(0)
    expect(page.locator("roadmap-tutor .msg.user")).to_have_count(1)


def test_host_css_cannot_hide_it_and_keyboard_works(live, page):
    base, _ = live
    page.goto(base + "/hostile")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(255, 0, 0)"
    launcher = page.locator("roadmap-tutor .launcher")
    expect(launcher).to_be_visible()
    panel = page.locator("roadmap-tutor [role=dialog]")
    expect(panel).to_be_hidden()  # the host's [role=dialog] {display:block !important} does not apply

    launcher.focus()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(page.locator("roadmap-tutor textarea")).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    style = shadow(page, "(s => [s.color, s.fontSize])(getComputedStyle(root.querySelector('.welcome')))")
    assert style[0] != "rgb(255, 0, 0)" and style[1] == "13.5px", style
    assert panel.get_attribute("aria-labelledby") and page.locator("roadmap-tutor [aria-live=polite]").count() == 1

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")  # the launcher kept focus: it reopens
    expect(panel).to_be_visible()
    page.locator("roadmap-tutor .close").click()
    expect(panel).to_be_hidden()


def test_thumbs_up_is_stored_and_shown_pressed(live, page):
    base, engine = live
    page.goto(base + "/")
    open_widget(page)
    ask(page, "Where should a complete beginner start the roadmap?")
    wait_answered(page)
    answer = last_answer(page)
    message_id = answer.get_attribute("data-message-id")
    up, down = answer.locator(".rate-up"), answer.locator(".rate-down")
    expect(up).to_have_attribute("aria-pressed", "false")

    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as posted:
        up.click()
    assert posted.value.status == 201
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")
    with Session(engine) as session:
        rows = session.exec(select(Feedback).where(Feedback.message_id == message_id)).all()
    assert [r.rating for r in rows] == [1]

    page.reload()  # the pressed state is remembered with the conversation
    open_widget(page)
    expect(last_answer(page).locator(".rate-up")).to_have_attribute("aria-pressed", "true")


def test_mobile_layout_is_full_screen(live, browser):
    base, _ = live
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(base + "/")
        open_widget(page)
        box = page.locator("roadmap-tutor [role=dialog]").bounding_box()
        assert box["width"] >= 375 * 0.95 and box["height"] >= 740 * 0.9, box
        assert box["x"] >= -1 and box["y"] >= -1 and box["x"] + box["width"] <= 376, box  # not cut off
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget-mobile.png"))
        expect(page.locator("roadmap-tutor .quick button")).to_have_count(3)
        open_map(page)  # the map fills the phone's screen too, and scrolls inside the panel
        map_box = page.locator("roadmap-tutor .map").bounding_box()
        assert map_box["width"] >= 375 * 0.95 and map_box["x"] >= -1, map_box
        page.screenshot(path=str(ARTIFACTS / "roadmap-mobile.png"))
        page.locator("roadmap-tutor .map-back").click()
        page.locator("roadmap-tutor .close").click()
        expect(page.locator("roadmap-tutor .launcher")).to_be_visible()
    finally:
        context.close()


def test_what_next_quick_action_uses_the_learner(live, page):
    base, engine = live
    page.goto(base + "/")
    open_widget(page)
    with page.expect_request(lambda r: r.url.endswith("/api/chat")) as chat:
        page.locator("roadmap-tutor .quick .next").click()
    learner_id = chat.value.post_data_json["learner_id"]
    assert learner_id.startswith("web-")
    expect(page.locator("roadmap-tutor .msg.user .bubble")).to_have_text(["What should I learn next?"])
    wait_answered(page)
    # answered by the recommender: its explanation cites the recommended concepts
    chips = last_answer(page).locator(".chip-title").all_inner_texts()
    assert chips, "no source chips"
    with Session(engine) as session:
        assert session.get(Learner, learner_id) is not None


def _bank_stage_1(engine) -> list[QuizItem]:
    items = [QuizItem(stage=1, concept_id="linear-algebra", kind="mcq", question=f"Widget quiz question {i}?",
                      options=json.dumps(["alpha", "beta", "gamma", "delta"]), answer="1",
                      explanation=f"Because beta ({i}).", chunk_id="concept-linear-algebra#0",
                      source_title="Linear algebra", source="corpus/roadmap.yaml") for i in range(3)]
    with Session(engine) as session:
        session.add_all(items)
        session.commit()
        for item in items:
            session.refresh(item)
    return items


def test_quiz_me_serves_and_grades_on_the_server(live, page):
    base, engine = live
    _bank_stage_1(engine)
    page.goto(base + "/")
    open_widget(page)
    with page.expect_response(lambda r: r.url.endswith("/api/quizzes")) as served:
        page.locator("roadmap-tutor .quick .quiz").click()
    assert served.value.status == 201
    quiz = served.value.json()
    assert all("answer" not in item for item in quiz["items"])  # no keys before grading
    questions = page.locator("roadmap-tutor .quiz-item")
    expect(questions).to_have_count(len(quiz["items"]))
    questions.nth(0).locator(".option").nth(1).click()  # right: "beta"
    questions.nth(1).locator(".option").nth(0).click()  # wrong
    with page.expect_response(lambda r: r.url.endswith("/answers")) as graded:
        page.locator("roadmap-tutor .quiz .check").click()
    assert graded.value.status == 200
    expect(page.locator("roadmap-tutor .quiz .score")).to_have_text("1 of 3 correct.")
    expect(questions.nth(0)).to_have_class(re.compile("right"))
    expect(questions.nth(1)).to_have_class(re.compile("wrong"))
    expect(questions.nth(1).locator(".verdict")).to_contain_text("the answer is beta")


def test_widget_and_demo_page_over_http(live):
    base, _ = live
    script = httpx.get(f"{base}/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert script.headers["access-control-allow-origin"] == "*"
    assert "max-age" in script.headers["cache-control"]
    assert "customElements.define" in script.text
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script.text)

    roadmap = httpx.get(f"{base}/api/roadmap")
    assert roadmap.status_code == 200 and "max-age" in roadmap.headers["cache-control"]
    body = roadmap.json()
    assert [s["id"] for s in body["stages"]] == [1, 2, 3, 4] and all(len(s["weeks"]) == 2 for s in body["stages"])
    assert {c["stage"] for c in body["concepts"]} == {1, 2, 3, 4} and body["concepts"][0]["name"]

    demo = httpx.get(f"{base}/")
    assert demo.status_code == 200 and demo.headers["content-type"].startswith("text/html")
    assert f'<script src="{base}/widget.js" defer></script>' in demo.text

    preflight = httpx.options(f"{base}/api/chat", headers={
        "Origin": "https://learner-site.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://learner-site.example")


# --- the demo course site, "My roadmap" and "Link Discord" --------------------------------

def _csp_violations(page) -> list:
    seen = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_demo_page_is_a_course_site_under_a_strict_policy(live, page, repo_root):
    import yaml

    base, _ = live
    roadmap = yaml.safe_load((repo_root / "corpus" / "roadmap.yaml").read_text())
    violations = _csp_violations(page)
    response = page.goto(base + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "style-src 'sha256-" in csp
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["referrer-policy"]
    expect(page.locator("h1")).to_have_text(roadmap["roadmap"]["title"])
    cards = page.locator("ol.stages > li")
    expect(cards).to_have_count(len(roadmap["stages"]))
    for i, stage in enumerate(roadmap["stages"]):
        expect(cards.nth(i).locator("h3")).to_have_text(stage["title"])
        expect(cards.nth(i).locator(".weeks")).to_have_text(f"weeks {stage['weeks'][0]}–{stage['weeks'][1]}")
    expect(page.locator("#embed pre")).to_have_text(f'<script src="{base}/widget.js" defer></script>')
    # the page's own style applied (allowed by hash), and the widget styled itself under the
    # same policy (a constructed stylesheet), in the site's brand colour
    assert page.evaluate("getComputedStyle(document.querySelector('.hero')).backgroundImage").startswith("linear-gradient")
    assert shadow(page, "getComputedStyle(root.querySelector('.launcher')).backgroundColor") == "rgb(15, 118, 110)"
    open_widget(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo.png"))
    page.screenshot(path=str(ARTIFACTS / "demo-full.png"), full_page=True)
    assert not violations, violations


def _learner_page(base: str, learner_id: str) -> dict:
    return {"/": host_page(f'<script src="{base}/widget.js" data-learner-id="{learner_id}"></script>',
                           title="Course site")}


def _seed_learner(engine, learner_id: str, mastery: dict[str, tuple[float, int]]) -> None:
    from tutor.models import Mastery

    with Session(engine) as session:
        session.add(Learner(id=learner_id))
        for concept, (p, attempts) in mastery.items():
            session.add(Mastery(learner_id=learner_id, concept_id=concept, p_known=p, attempts=attempts,
                                correct=attempts))
        session.commit()


def open_map(page):
    with page.expect_response(lambda r: "/api/learners/" in r.url and r.url.endswith("/next?limit=1")):
        page.locator("roadmap-tutor .quick .map-open").click()
    expect(page.locator("roadmap-tutor .map .path")).to_be_visible()


def concept(page, concept_id: str):
    return page.locator(f"roadmap-tutor .concept[data-concept='{concept_id}']")


def test_my_roadmap_shows_mastery_next_step_and_milestones(live, page):
    base, engine = live
    _seed_learner(engine, "map-ada", {"linear-algebra": (0.99, 5), "statistics": (0.4, 2)})
    with serve_pages(_learner_page(base, "map-ada")) as site:
        page.goto(site + "/")
        open_widget(page)
        open_map(page)
        expect(page.locator("roadmap-tutor .log")).to_be_hidden()
        stages = page.locator("roadmap-tutor .map .stage")
        expect(stages).to_have_count(4)
        expect(stages.nth(0).locator(".stage-weeks")).to_have_text("Stage 1 · weeks 1–8")
        expect(stages.nth(3).locator(".stage-weeks")).to_have_text("Stage 4 · weeks 25–36")
        expect(stages.nth(0).locator(".badge")).to_have_text("Milestone in progress")
        expect(stages.nth(1).locator(".badge")).to_have_text("Milestone not started")
        expect(stages.nth(0).locator(".counts")).to_contain_text("1 mastered · 1 in progress")

        # mastery: a glyph and a word, not only a colour
        mastered, doing = concept(page, "linear-algebra"), concept(page, "statistics")
        expect(mastered).to_have_attribute("aria-label", "Linear algebra: mastered")
        expect(mastered.locator(".mark")).to_have_text("✓")
        expect(doing).to_have_attribute("aria-label", "Statistics: in progress")
        expect(doing.locator(".mark")).to_have_text("◐")
        fresh = concept(page, "calculus")
        expect(fresh.locator(".mark")).to_have_text("○")
        colours = {c: shadow(page, f"getComputedStyle(root.querySelector(\".concept[data-concept='{c}']\")).backgroundColor")
                   for c in ("linear-algebra", "statistics", "calculus")}
        assert len(set(colours.values())) == 3, colours

        # the computed next step, highlighted, with its reason
        nxt = requests_next(page, base, "map-ada")
        step = nxt["next"][0]
        expect(page.locator("roadmap-tutor .concept.next")).to_have_count(1)
        expect(concept(page, step["concept"])).to_have_class(re.compile(r"\bnext\b"))
        expect(page.locator("roadmap-tutor .next-step .next-name")).to_have_text(f"{step['name']} · stage {step['stage']}")
        expect(page.locator("roadmap-tutor .next-step .next-why")).to_contain_text(step["why"])
        expect(page.locator("roadmap-tutor .next-step .next-time")).to_have_text(
            step["time"][0].upper() + step["time"][1:] + " at your pace.")  # "About 2 days at your pace."
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "roadmap.png"))
        doing.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "roadmap-concepts.png"))

        # keyboard: open stage 2, pick a concept, ask about it
        head = stages.nth(1).locator(".stage-head")
        expect(head).to_have_attribute("aria-expanded", "false")
        head.focus()
        page.keyboard.press("Enter")
        expect(head).to_have_attribute("aria-expanded", "true")
        page.keyboard.press("Tab")  # the next focusable after the stage's heading: its first concept
        first = stages.nth(1).locator(".concept").first
        expect(first).to_be_focused()
        name = first.locator("span").nth(1).inner_text()
        page.keyboard.press("Enter")
        ask_button = stages.nth(1).locator(".concept-actions .ask-concept")
        expect(ask_button).to_be_focused()
        expect(stages.nth(1).locator(".concept-actions .quiz-concept")).to_have_text(f"Quiz me on {name}")
        expect(stages.nth(1).locator(".quiz-stage")).to_have_text("Quiz me on stage 2")  # the stage's own quiz
        page.keyboard.press("Enter")
        expect(page.locator("roadmap-tutor .map")).to_be_hidden()
        expect(page.locator("roadmap-tutor .msg.user .bubble").last).to_contain_text(f"What is {name}")
        wait_answered(page)


def requests_next(page, base: str, learner_id: str) -> dict:
    return httpx.get(f"{base}/api/learners/{learner_id}/next?limit=1").json()


def test_my_roadmap_colours_change_after_a_graded_quiz(live, page):
    base, engine = live
    _bank_stage_1(engine)
    _seed_learner(engine, "map-bob", {})
    with serve_pages(_learner_page(base, "map-bob")) as site:
        page.goto(site + "/")
        open_widget(page)
        open_map(page)
        expect(concept(page, "linear-algebra")).to_have_attribute("data-status", "not_started")
        concept(page, "linear-algebra").click()
        with page.expect_response(lambda r: r.url.endswith("/api/quizzes")) as served:
            page.locator("roadmap-tutor .stage[data-stage='1'] .concept-actions .quiz-concept").click()
        assert served.value.request.post_data_json["concept"] == "linear-algebra"
        questions = page.locator("roadmap-tutor .quiz-item")
        expect(questions).to_have_count(3)
        for i in range(3):
            questions.nth(i).locator(".option").nth(1).click()  # "beta", right
        page.locator("roadmap-tutor .quiz .check").click()
        expect(page.locator("roadmap-tutor .quiz .score")).to_have_text("3 of 3 correct.")

        open_map(page)
        changed = concept(page, "linear-algebra")
        expect(changed).to_have_attribute("data-status", "in_progress")
        expect(changed.locator(".mark")).to_have_text("◐")
        expect(page.locator("roadmap-tutor .stage[data-stage='1'] .counts")).to_contain_text("1 in progress")
        changed.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "roadmap-after-quiz.png"))


def _bank_concepts(engine, counts: dict[str, int]) -> None:
    """Stage-1 items of other concepts than linear-algebra's (key: option 1)."""
    with Session(engine) as session:
        for concept_id, n in counts.items():
            name = concept_id.capitalize()
            session.add_all(QuizItem(stage=1, concept_id=concept_id, kind="mcq", question=f"{name} question {i}?",
                                     options=json.dumps(["alpha", "beta", "gamma", "delta"]), answer="1",
                                     explanation=f"Because beta ({i}).", chunk_id=f"concept-{concept_id}#0",
                                     source_title=name, source="corpus/roadmap.yaml") for i in range(n))
        session.commit()


def test_a_concepts_quiz_button_in_my_roadmap_quizzes_on_that_concept(live, page):
    """Pick a concept in My roadmap, then its "Quiz me on <concept>" (by keyboard): a quiz
    of that concept's items only; one with fewer items says so, naming the concept; the
    stage keeps its own quiz button."""
    base, engine = live
    _bank_stage_1(engine)
    _bank_concepts(engine, {"probability": 4, "calculus": 1})
    _seed_learner(engine, "map-cy", {})
    with serve_pages(_learner_page(base, "map-cy")) as site:
        page.goto(site + "/")
        open_widget(page)
        open_map(page)
        stage1 = page.locator("roadmap-tutor .stage[data-stage='1']")
        expect(stage1.locator(".quiz-stage")).to_have_text("Quiz me on stage 1")
        concept(page, "probability").focus()
        page.keyboard.press("Enter")
        expect(stage1.locator(".concept-actions .ask-concept")).to_be_focused()
        page.keyboard.press("Tab")
        quiz_button = stage1.locator(".concept-actions .quiz-concept")
        expect(quiz_button).to_be_focused()
        expect(quiz_button).to_have_text("Quiz me on Probability")
        ARTIFACTS.mkdir(exist_ok=True)
        stage1.locator(".quiz-stage").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "roadmap-concept-quiz-button.png"))
        with page.expect_response(lambda r: r.url.endswith("/api/quizzes")) as served:
            page.keyboard.press("Enter")
        assert served.value.status == 201
        assert served.value.request.post_data_json == {"concept": "probability", "count": 3, "learner_id": "map-cy"}
        quiz = served.value.json()
        assert (quiz["stage"], quiz["concept"], quiz["available"], quiz["message"]) == (1, "probability", 3, None)
        assert {item["concept"] for item in quiz["items"]} == {"probability"}
        expect(page.locator("roadmap-tutor .msg.user .bubble").last).to_have_text("Quiz me on Probability")
        answer = last_answer(page)
        expect(answer.locator(".quiz")).to_have_attribute("aria-label", "Practice quiz, Probability")
        expect(answer.locator(".bubble > p").first).to_have_text("Probability (stage 1) practice: answer, then check.")
        legends = answer.locator(".quiz-item legend")
        expect(legends).to_have_count(3)
        for text in legends.all_inner_texts():
            assert re.fullmatch(r"\d\. Probability question \d\?", text), text
        answer.locator("p").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "widget-quiz-concept.png"))
        for i in range(3):
            answer.locator(".quiz-item").nth(i).locator(".option").nth(1).click()
        answer.locator(".quiz .check").click()
        expect(answer.locator(".quiz .score")).to_have_text("3 of 3 correct.")

        open_map(page)
        expect(concept(page, "probability")).to_have_attribute("data-status", "in_progress")
        concept(page, "calculus").click()
        stage1.locator(".concept-actions .quiz-concept").click()
        short = last_answer(page)
        expect(short.locator(".quiz-item")).to_have_count(1)
        expect(short.locator(".shortfall")).to_contain_text(
            "Only 1 of the 3 questions you asked for are ready for Calculus (calculus)")
        short.locator(".shortfall").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "widget-quiz-concept-shortfall.png"))

        open_map(page)
        with page.expect_response(lambda r: r.url.endswith("/api/quizzes")) as staged:
            stage1.locator(".quiz-stage").click()
        assert staged.value.request.post_data_json["stage"] == 1 and "concept" not in staged.value.request.post_data_json
        expect(page.locator("roadmap-tutor .msg.user .bubble").last).to_have_text("Quiz me on stage 1")
        expect(last_answer(page).locator(".quiz-item")).to_have_count(3)


def test_my_roadmap_without_the_next_step_while_the_model_loads(live, page):
    base, _ = live
    page.route("**/next?limit=1", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"detail": "the tutor is still loading"}'))
    page.goto(base + "/")
    open_widget(page)
    page.locator("roadmap-tutor .quick .map-open").click()
    expect(page.locator("roadmap-tutor .map .stage")).to_have_count(4)
    expect(page.locator("roadmap-tutor .map .map-note").first).to_contain_text("once the tutor has finished loading")
    expect(page.locator("roadmap-tutor .concept.next")).to_have_count(0)
    page.locator("roadmap-tutor .map-back").click()
    expect(page.locator("roadmap-tutor .log")).to_be_visible()
    expect(page.locator("roadmap-tutor textarea")).to_be_focused()


def test_link_discord_shows_a_one_time_code(live, page):
    base, _ = live
    page.goto(base + "/")
    open_widget(page)
    open_map(page)
    with page.expect_response(lambda r: r.url.endswith("/link-codes")) as made:
        page.locator("roadmap-tutor .link-discord").click()
    assert made.value.status == 201
    body = made.value.json()
    assert re.fullmatch(r"[A-Z2-9]{8}", body["code"])
    minutes = round(body["expires_in"] / 60)
    result = page.locator("roadmap-tutor .link-result")
    expect(result).to_have_text(f"Your code: {body['code']}. Type /link {body['code']} in Discord; "
                                f"expires in {minutes} minutes.")
    expect(result).to_have_attribute("role", "status")
    page.screenshot(path=str(ARTIFACTS / "link-discord.png"))


def test_quiz_me_on_a_stage_2_page_serves_three_shipped_items_at_once(corpus_index, embedder, tmp_path, page):
    """What `make run` gives: a fresh database holding the shipped bank (loaded by `tutor db
    upgrade`, no model call) and a model that must not be needed. "Quiz me on this stage"
    on a stage-2 page shows three checked items at once; once the stage holds fewer items
    than asked for, the quiz says how many it has."""
    from tutor.quiz.shipped import load_shipped

    def no_model(messages):
        raise AssertionError("the model was called")

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    index = load_index(corpus_index.index_dir)
    load_shipped(engine, corpus_index.corpus_dir, index.chunks)
    with Session(engine) as session:
        assert len(session.exec(select(QuizItem.id).where(QuizItem.stage == 2)).all()) > 3
    settings = corpus_index.model_copy(update={"cors_origin_regex": r"http://127\.0\.0\.1:\d+"})
    llm = FakeLLM(no_model)
    app = create_app(settings, tutor=Tutor(settings, index, embedder, llm), engine=engine)
    with serve_app(app) as base:
        pages = {"/": host_page(f'<script src="{base}/widget.js" data-stage="2"></script>', title="Stage 2 notes")}
        with serve_pages(pages) as site:
            page.goto(site + "/")
            open_widget(page)
            with page.expect_response(lambda r: r.url.endswith("/api/quizzes")) as served:
                page.locator("roadmap-tutor .quick .quiz").click()
            quiz = served.value.json()
            assert served.value.status == 201 and quiz["stage"] == 2
            assert (quiz["requested"], quiz["available"], quiz["message"]) == (3, 3, None)
            assert all(item["id"].startswith("s2-") for item in quiz["items"])  # shipped ids
            expect(page.locator("roadmap-tutor .quiz-item")).to_have_count(3)
            expect(page.locator("roadmap-tutor .shortfall")).to_have_count(0)
            ARTIFACTS.mkdir(exist_ok=True)
            last_answer(page).locator("p").first.scroll_into_view_if_needed()  # the quiz's first lines
            page.screenshot(path=str(ARTIFACTS / "widget-quiz-stage2.png"))
            assert llm.calls == []  # nothing was generated

            with Session(engine) as session:  # the stage keeps two items only
                for item in session.exec(select(QuizItem).where(QuizItem.stage == 2)).all()[2:]:
                    session.delete(item)
                session.commit()
            page.goto(site + "/")
            open_widget(page)
            page.locator("roadmap-tutor .quick .quiz").click()
            expect(last_answer(page).locator(".quiz-item")).to_have_count(2)
            expect(last_answer(page).locator(".shortfall")).to_contain_text(
                "Only 2 of the 3 questions you asked for are ready for stage 2")
            last_answer(page).locator(".shortfall").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "widget-quiz-shortfall.png"))
    refiller = getattr(app.state, "quiz_refiller", None)
    if refiller is not None:  # the stage ran low: its top-up stops at the model that must not be called
        refiller.wait(30)
