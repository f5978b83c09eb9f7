"""The Discord bot's resident memory: `tutor discord` logged in to a loopback stand-in for
Discord (tests/discord_standin.py, the same one the end-to-end test uses), after it has
answered a few slash commands through `tutor serve --backend fake`.

Reported beside the service process measured in the same run: the bot loads no model, no
index and no torch, so it should stay a small fraction of the service. RSS and peak RSS
(VmHWM) come from /proc/<pid>/status; the bot's memory map is checked for torch, FAISS and
llama.cpp libraries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.bench.common import console, index_under_test, ratio, table, verdict
from eval.bench.web import TUTOR, Served

TARGET_MB = 150.0  # a discord.py process with aiohttp and httpx; no model, no torch
KEY = "bench-service-key"


def _mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _heavy_libraries(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [lib for lib in ("libtorch", "faiss", "llama", "onnxruntime") if lib in maps]


def run(questions: int = 3) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for tests.discord_standin
    from tests.discord_standin import TOKEN, Standin

    os.environ["TUTOR_SERVICE_KEY"] = KEY
    with index_under_test("discord") as (index_dir, info), tempfile.TemporaryDirectory() as db_dir, \
            Served(index_dir, "fake", db_dir) as service, Standin() as discord_api:
        env = {**os.environ, "DISCORD_TOKEN": TOKEN, "TUTOR_DISCORD_API_URL": service.url,
               "TUTOR_DISCORD_API_BASE": discord_api.url, "TUTOR_DISCORD_RATE_PER_MINUTE": "1000"}
        bot = subprocess.Popen([TUTOR, "discord"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            started = time.monotonic()
            if not discord_api.synced.wait(120):
                raise RuntimeError(f"the bot did not log in: {bot.stderr.read()[-500:] if bot.poll() else 'still starting'}")
            login_seconds = time.monotonic() - started
            time.sleep(2.5)  # discord.py waits ~2 s for guilds before READY
            at_login = _mb(bot.pid, "VmRSS")
            for n in range(questions):
                discord_api.slash_command("ask", {"question": "What is the key idea of ResNet?"}, str(9000 + n))
                discord_api.wait_for(lambda r, n=n: r["method"] == "PATCH" and f"tok-{9000 + n}" in r["path"]
                                     and "Sources:" in (r["json"] or {}).get("content", ""), timeout=120)
            bot_rss, bot_peak = _mb(bot.pid, "VmRSS"), _mb(bot.pid, "VmHWM")
            service_rss = _mb(service.proc.pid, "VmRSS")
            heavy = _heavy_libraries(bot.pid)
        finally:
            bot.terminate()
            bot.wait(timeout=30)
    console.print(table("Discord bot memory (MB)", ["process", "RSS", "peak RSS"], [
        ["tutor discord, after login", at_login, None],
        [f"tutor discord, after {questions} answers", bot_rss, bot_peak],
        ["tutor serve --backend fake (baseline, same run)", service_rss, None],
    ], caption=f"bot/service RSS ratio {ratio(bot_rss, service_rss):.2f}; login and command sync "
               f"{login_seconds:.1f} s; libraries of a model in the bot: {heavy or 'none'}"))
    ok = bot_peak <= TARGET_MB and not heavy
    console.print(f"{verdict(ok)} bot peak RSS {bot_peak:.0f} MB <= {TARGET_MB:.0f} MB, no torch/FAISS/llama.cpp mapped")
    return {"index": info, "bot_rss_mb_at_login": at_login, "bot_rss_mb": bot_rss, "bot_peak_rss_mb": bot_peak,
            "service_rss_mb": service_rss, "ratio_bot_to_service": ratio(bot_rss, service_rss),
            "login_seconds": login_seconds, "heavy_libraries": heavy, "answers": questions,
            "target_mb": TARGET_MB, "pass": ok}
