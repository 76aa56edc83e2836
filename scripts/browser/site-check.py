#!/usr/bin/env python3
"""Checks a built package site in headless Chromium (Debian's chromium + chromedriver, Selenium).

usage: python3 scripts/browser/site-check.py BASE_URL SCREENSHOT_DIR [--hostile ID/VERSION] [--layout ID/VERSION]

BASE_URL serves the output of `shelf build` (SampleFeed, optionally with the packages of
scripts/make-hostile-packages.py). Prints one line per check and exits non-zero if any fails.
Screenshots of the home page and a package page (desktop and phone widths) go to SCREENSHOT_DIR.
"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def browser(width, height):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", f"--window-size={width},{height}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=opts)


def console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def visible_items(d):
    return [li for li in d.find_elements(By.CSS_SELECTOR, "#packages > li") if li.is_displayed()]


def wait_for(predicate, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def pwned(d):
    return d.execute_script("return window.__pwned === undefined ? null : window.__pwned")


def main():
    base, shots = sys.argv[1].rstrip("/") + "/", sys.argv[2]
    hostile = layout = None
    if "--hostile" in sys.argv:
        hostile = sys.argv[sys.argv.index("--hostile") + 1]
    if "--layout" in sys.argv:
        layout = sys.argv[sys.argv.index("--layout") + 1]
    os.makedirs(shots, exist_ok=True)
    d = browser(1280, 1000)
    try:
        # Home page: loads without console errors, lists every package.
        d.get(base + "index.html")
        check(d.title.endswith("packages"), f"home page title: {d.title!r}")
        items = visible_items(d)
        total = len(items)
        check(total >= 4, f"home page lists the packages ({total})")
        errors = console_errors(d)
        check(not errors, f"home page: no console error {errors}")
        d.save_screenshot(os.path.join(shots, "home.png"))

        # Typing narrows the list as you type, and clearing restores it.
        box = d.find_element(By.ID, "q")
        box.send_keys("legacy")
        check(wait_for(lambda: 0 < len(visible_items(d)) < total), "typing 'legacy' narrows the list")
        shown = [li.get_attribute("data-id") for li in visible_items(d)]
        check(shown == ["shelf.sample.legacy"], f"the match is Shelf.Sample.Legacy: {shown}")
        check("1 package" in d.find_element(By.ID, "count").text, "the count says 1 package")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("zzzz-nothing-matches")
        check(wait_for(lambda: len(visible_items(d)) == 0), "a query matching nothing hides every package")
        check(d.find_element(By.ID, "none").is_displayed(), "and says so")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        check(wait_for(lambda: len(visible_items(d)) == total), "clearing the box shows every package again")
        # Tags and descriptions are searched too, with several terms.
        box.send_keys("dependency extensions")
        check(wait_for(lambda: [li.get_attribute("data-id") for li in visible_items(d)] == ["shelf.sample.extensions"]),
              "two terms (description and id) find Shelf.Sample.Extensions")
        # Keyboard: '/' focuses the search box from anywhere.
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        d.execute_script("document.activeElement.blur()")
        ActionChains(d).send_keys("/").perform()
        check(d.switch_to.active_element == box, "'/' focuses the search box")

        # A package page shows its README and its dependencies.
        d.get(base + "packages/shelf.sample.core/2.0.0.html")
        readme = d.find_elements(By.CSS_SELECTOR, "article.readme h1")
        check(bool(readme) and "Shelf.Sample.Core" in readme[0].text, "package page shows the rendered README")
        check(not console_errors(d), "package page: no console error")
        d.save_screenshot(os.path.join(shots, "package.png"))
        d.get(base + "packages/shelf.sample.extensions/1.0.0.html")
        deps = [a.text for a in d.find_elements(By.CSS_SELECTOR, "ul.deps a")]
        check("Shelf.Sample.Core" in deps, f"package page lists dependencies with links: {deps}")
        groups = [h.text for h in d.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=deps-h] h3")]
        check(len(groups) >= 2, f"dependencies per target framework: {groups}")
        d.find_element(By.CSS_SELECTOR, "ul.deps a").click()
        check(wait_for(lambda: "/packages/shelf.sample.core/" in d.current_url), "a dependency link opens its page")
        check(not console_errors(d), "dependency page: no console error")

        # The URL Visual Studio builds from PackageDetailsUriTemplate (id as the package writes it).
        d.get(base + "packages/Shelf.Sample.Core/2.0.0.html")
        check("Shelf.Sample.Core" in d.title, "the page is there at the id's own casing")

        if hostile:
            d.get(base + f"packages/{hostile}.html")
            check(pwned(d) is None, "hostile page: no script ran on load")
            scripts = d.execute_script("return document.scripts.length")
            check(scripts == 0, f"hostile page: no script element ({scripts})")
            bad = d.execute_script(
                "return Array.from(document.querySelectorAll('a[href],iframe,img,svg,embed,object'))"
                ".map(e => e.getAttribute('href') || e.getAttribute('src') || e.tagName)"
                ".filter(h => /^\\s*(javascript|data|vbscript):/i.test(h) || /^(IFRAME|EMBED|OBJECT)$/.test(h))")
            check(not bad, f"hostile page: no script URL or frame ({bad})")
            handlers = d.execute_script(
                "return Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes)"
                ".some(a => a.name.startsWith('on'))).length")
            check(handlers == 0, f"hostile page: no event handler attribute ({handlers})")
            for el in d.find_elements(By.CSS_SELECTOR, "article.readme a, article.readme span, .side a"):
                try:
                    href = el.get_attribute("href") or ""
                    if href.startswith("http"):
                        continue  # a real link: clicking would leave the site
                    el.click()
                except Exception:
                    pass
            check(pwned(d) is None, "hostile page: clicking its links and texts runs nothing")
            check(base + f"packages/{hostile}.html" == d.current_url or pwned(d) is None, "still on the page")
            d.save_screenshot(os.path.join(shots, "hostile.png"))
            d.get(base + "index.html")
            check(pwned(d) is None, "home page with the hostile package: no script ran")
            check(not console_errors(d), "home page with the hostile package: no console error")
    finally:
        d.quit()

    # The same pages at a phone's width.
    p = browser(390, 844)
    try:
        if layout:
            for w in (390, 1280):
                p.set_window_size(w, 900)
                p.get(base + f"packages/{layout}.html")
                overflow = p.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                check(overflow <= 1, f"width {w}: the longest id and a huge README do not widen the page ({overflow}px)")
                check(bool(p.find_elements(By.CSS_SELECTOR, "article.readme p.note")), "the huge README is cut, with a note")
                if w == 390:
                    p.save_screenshot(os.path.join(shots, "long-id-phone.png"))
            p.get(base + "index.html")
            overflow = p.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            check(overflow <= 1, f"home page with the longest id: no sideways scroll ({overflow}px)")
            p.set_window_size(390, 844)
        p.get(base + "packages/shelf.sample.core/2.0.0.html")
        overflow = p.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
        check(not overflow, "phone width: the package page does not scroll sideways")
        p.save_screenshot(os.path.join(shots, "package-phone.png"))
        p.get(base + "index.html")
        overflow = p.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
        check(not overflow, "phone width: the home page does not scroll sideways")
        p.save_screenshot(os.path.join(shots, "home-phone.png"))
    finally:
        p.quit()

    print(json.dumps({"failures": failures}))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
