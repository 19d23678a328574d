"""`screenshot` without a browser: which test text the picture shows, what the PNG records, the README block, and the
one line `make docs` prints when there is no model or no Chromium (test_demo.py takes real pictures in Chromium)."""

import csv
import json
import shutil
import struct
import zlib
from pathlib import Path

from dl_portfolio import screenshot
from PIL import Image

from .conftest import PROJECT


def tiny_png() -> bytes:
    """A valid 1 x 1 grey PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n"
        + screenshot.chunk(b"IHDR", header)
        + screenshot.chunk(b"IDAT", pixels)
        + screenshot.chunk(b"IEND", b"")
    )


def test_the_png_records_what_it_shows_for_any_reader(tmp_path):
    fields = {"Title": "Try it", "Text": "Café ☕ at 9", "Answer": "Sports & gaming (91.2%)"}
    png = screenshot.with_text(tiny_png(), fields)
    assert screenshot.text_of(png) == fields
    (tmp_path / "p.png").write_bytes(png)
    with Image.open(tmp_path / "p.png") as image:
        image.load()
        assert image.size == (1, 1) and image.text == fields


def write_predictions(folder: Path, rows: list[tuple[str, str, str, float]]) -> None:
    folder.mkdir(parents=True)
    with (folder / "predictions.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "gold", "predicted", "confidence"])
        writer.writerows(rows)


def test_the_picture_shows_a_plain_confidently_right_test_text(tmp_path):
    write_predictions(tmp_path / "reports" / "r1", [
        ("wrong but very sure of itself, long enough", "dogs", "cats", 0.99),
        ("@user right and sure, with a mention http", "cats", "cats", 0.98),
        ("short", "cats", "cats", 0.99),
        ("right, plain and fairly sure of the answer", "dogs", "dogs", 0.95),
        ("right, plain and just as sure, but longer than that", "fish", "fish", 0.95),
    ])  # fmt: skip
    assert screenshot.pick_text(tmp_path, "r1") == "right, plain and fairly sure of the answer"
    (tmp_path / "exports" / "r2").mkdir(parents=True)
    (tmp_path / "exports" / "r2" / "export.json").write_text(json.dumps({"examples": [{"text": "an example"}]}))
    assert screenshot.pick_text(tmp_path, "r2") == "an example"  # no report: the card's widget example
    assert screenshot.pick_text(tmp_path, None) == screenshot.FALLBACK_TEXT


def project_with_site(tmp_path: Path, model: bool) -> Path:
    """A project copy with a 'built' Try it page, with or without a model."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "docs", root / "docs")
    for name in ("README.md", "mkdocs.yml"):
        shutil.copy(PROJECT / name, root / name)
    (root / "site" / "try").mkdir(parents=True)
    (root / "site" / "try" / "index.html").write_text("<html></html>")
    (root / "site" / "assets" / "demo").mkdir(parents=True)
    demo = {"file": "onnx/model_quantized.onnx", "run": "r1"} if model else {"file": None}
    (root / "site" / "assets" / "demo" / "demo.json").write_text(json.dumps(demo))
    return root


def test_no_model_or_no_chromium_is_one_line_and_changes_nothing(tmp_path, monkeypatch):
    root = project_with_site(tmp_path / "a", model=False)
    readme = (root / "README.md").read_text()
    assert screenshot.screenshot(root, root / "site", root / "docs") == (
        "no picture: the Try it page has no model yet (`make export`, then `make docs`)"
    )
    root = project_with_site(tmp_path / "b", model=True)
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert screenshot.screenshot(root, root / "site", root / "docs") == (
        "no picture for the README: no Chromium here: install Chromium (Debian/Ubuntu: `sudo apt install chromium`; "
        "elsewhere: `python -m playwright install chromium`), then `make docs` again"
    )
    assert (root / "README.md").read_text() == readme and not (root / "docs" / "assets" / "try-it.png").exists()


def test_the_readme_block_links_the_live_page_or_says_where_it_goes(tmp_path):
    root = project_with_site(tmp_path, model=True)
    assert screenshot.readme_block(root) == (
        "[![The Try it page answering a test tweet in the browser](docs/assets/try-it.png)]"
        "(https://your-github-username.github.io/tweet-topic-classifier/try/)"
    )
    (root / "mkdocs.yml").write_text("site_name: x\n")  # no site_url: the page's source in the repository
    assert screenshot.readme_block(root).endswith("(docs/try.md)")
    (root / "README.md").write_text("# My project\n")  # markers removed by the owner: nothing is written
    block = screenshot.readme_block(root)
    assert screenshot.put_in_readme(root) == (
        f"README.md has no `<!-- picture:start -->` / `<!-- picture:end -->` pair: paste {block}"
    )
    assert (root / "README.md").read_text() == "# My project\n"
