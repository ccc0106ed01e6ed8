"""Simulated customers for `bot bench load` (locust, in its own environment: .venv-load).

Each simulated customer holds one conversation at a time over the REST channel, the way a
person chats: a few messages about one need (booking, car status, advice, prices and opening
hours, now and then a person), answering the bot's buttons as they come, pausing 2-8 s
between messages (`think`). A request that fails in transit (connection refused, 502-504:
a Rasa instance gone behind the load balancer) is sent again with the same `message_id`,
as a chat app would; the REST channel answers a repeated id once.

Every message is written to a JSON-lines log (`log`), before it is sent and with its outcome,
so the run can be checked against the trackers afterwards: every message once, in order.

Settings come from the JSON file in `LOAD_CONFIG` (written by `bot bench load`):
  bot: "fjordbil" | "starter"      which conversations (Rasa's starter bot knows moods only)
  think: [min_s, max_s]            pause between messages
  known: N                         senders load-0 .. load-(N-1) are known customers
  known_share: 0.75                the share of conversations by known customers (guests get a new id)
  first_sender: 0                  the first load-N of this step (the steps before used the ones below)
  apologies: [...]                 texts that mean an error reached the customer
  handoff_texts: [...]             texts that mean a person takes over (the bot then stays quiet)
  log: path                        the message log
  seed: int
  warm_up: false                   the warm-up step: every text upper-cased (the same needs, other
                                   texts), so no measured text is cached because the warm-up sent it
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from typing import Any

import requests
from locust import User, between, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["LOAD_CONFIG"], encoding="utf-8").read())
RNG = random.Random(CONFIG.get("seed", 1))
SENDERS = itertools.count()
LOG_LOCK = threading.Lock()
LOG = open(CONFIG["log"], "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - open for the whole run
RETRIES = 3
TIMEOUT_S = 60

# What customers say, per language: greetings, the needs, and how they answer the bot.
SAY = {
    "nb": {
        "greet": ["hei", "hallo", "god morgen"], "thanks": ["takk", "tusen takk", "takk for hjelpen"],
        "bye": ["ha det", "ha en fin dag"], "yes": "ja", "no": "nei takk",
        "book": ["jeg vil bestille service neste tirsdag", "kan jeg bestille dekkskift på torsdag?",
                 "jeg trenger vask og innvendig rengjøring på fredag", "bestille EU-kontroll neste uke",
                 "jeg vil bestille dekkskift i morgen", "kan jeg få service på mandag?", "vask på onsdag"],
        "status": ["er bilen min ferdig?", "når er bilen klar?"],
        "after_status": ["kan jeg betale med vipps?", "send meg fakturaen", "hvor henter jeg bilen?"],
        "advice": ["hva bør jeg gjøre med bilen før vinteren?", "når bør jeg bytte til vinterdekk?"],
        "info": ["hva koster dekkskift?", "når åpner verkstedet?", "hvor er dere?", "hva koster service?"],
        "human": ["jeg vil snakke med et menneske", "kan jeg få snakke med en person?"],
        "waiting": ["hallo?", "ok, jeg venter"],
    },
    "sv": {
        "greet": ["hej", "hej hej", "god morgon"], "thanks": ["tack", "tack så mycket"],
        "bye": ["hej då", "ha det bra"], "yes": "ja tack", "no": "nej tack",
        "book": ["jag vill boka däckbyte nästa onsdag", "kan jag boka service på torsdag?",
                 "jag vill boka tvätt på fredag", "jag vill boka däckbyte i morgon", "boka service nästa vecka"],
        "status": ["är min bil klar?", "när är bilen klar?"],
        "after_status": ["kan jag betala med swish eller kort?", "skicka fakturan", "var hämtar jag bilen?"],
        "advice": ["vad ska jag göra med bilen inför vintern?", "när ska jag byta till vinterdäck?"],
        "info": ["vad kostar däckbyte?", "när öppnar verkstaden?", "var ligger ni?"],
        "human": ["jag vill prata med en människa", "kan jag få prata med en person?"],
        "waiting": ["hallå?", "okej, jag väntar"],
    },
    "en": {
        "greet": ["hello", "hi there", "good morning"], "thanks": ["thanks", "thank you very much"],
        "bye": ["bye", "have a nice day"], "yes": "yes please", "no": "no thanks",
        "book": ["I would like to book an EU inspection next Thursday", "can I book a service next Tuesday?",
                 "I need a tyre change on Friday", "I want to book a wash tomorrow", "book a service next week"],
        "status": ["is my car ready yet?", "when will my car be ready?"],
        "after_status": ["can I pay by card?", "send me the invoice", "where do I pick up the car?"],
        "advice": ["what should I do with my car before winter?", "when should I change to winter tyres?"],
        "info": ["how much is a tyre change?", "when do you open on monday?", "where are you located?"],
        "human": ["I want to talk to a human", "can I speak to a person please?"],
        "waiting": ["hello?", "ok, I will wait"],
    },
}
# Rasa's starter bot (`rasa init`): its intents are greetings, moods and yes/no.
STARTER = {
    "greet": ["hi", "hello", "hey there", "good morning"],
    "mood": ["I am great", "I'm feeling very good", "I am sad", "not good", "I'm unhappy"],
    "challenge": ["are you a bot?", "am I talking to a human?"],
    "bye": ["bye", "goodbye", "see you later"],
}
# How often each kind of conversation happens (known customers; guests cannot book or ask for status).
KINDS = {"booking": 3, "status": 3, "advice": 2, "info": 2, "handoff": 1}
GUEST_KINDS = {"advice": 2, "info": 4, "handoff": 1}
LANGS = {"nb": 5, "sv": 2, "en": 3}
REFERENCE = re.compile(r"FB-[A-Z0-9]{6}")
PRICE = re.compile(r"\d[\d\u00a0 ,.]*\s?(kr|NOK)|NOK|SEK")


def weighted(choices: dict[str, int]) -> str:
    return RNG.choices(list(choices), weights=list(choices.values()))[0]


def write_log(entry: dict[str, Any]) -> None:
    with LOG_LOCK:
        LOG.write(json.dumps(entry, ensure_ascii=False) + "\n")


class TurnFailed(Exception):
    """The customer saw an error: no answer, an HTTP error, or an apology."""


class HandedOver(Exception):
    """The bot passed the conversation to a person: it stays quiet from now on."""


class Customer(User):
    """One customer after another, each holding one conversation at a time."""

    wait_time = between(*CONFIG.get("think", [2, 8]))

    def on_start(self) -> None:
        self.http = requests.Session()
        self.think = CONFIG.get("think", [2, 8])
        self.lang = "nb"  # of the conversation under way

    # --- one message --------------------------------------------------------------------

    def say(self, sender: str, text: str, kind: str, expect_answer: bool = True) -> list[dict[str, Any]]:
        if CONFIG.get("warm_up") and not text.startswith("/"):   # a button's payload stays as it is
            text = text.upper()
        message_id = uuid.uuid4().hex
        write_log({"sender": sender, "message_id": message_id, "text": text, "state": "sent", "t": time.time()})
        started = time.perf_counter()
        replies: list[dict[str, Any]] = []
        error: Exception | None = None
        retries = 0
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.post(
                    f"{self.host}/webhooks/rest/webhook", timeout=TIMEOUT_S,
                    json={"sender": sender, "message": text, "message_id": message_id},
                )
                if response.status_code in (502, 503, 504) and attempt < RETRIES:
                    retries += 1
                    time.sleep(1)
                    continue
                if response.status_code != 200:
                    error = TurnFailed(f"HTTP {response.status_code}")
                else:
                    replies = response.json()
                    error = self.problem(replies, expect_answer)
                break
            except requests.RequestException as failure:
                if attempt < RETRIES:
                    retries += 1
                    time.sleep(1)
                    continue
                error = TurnFailed(type(failure).__name__)
        elapsed = (time.perf_counter() - started) * 1000
        events.request.fire(request_type="turn", name=kind, response_time=elapsed,
                            response_length=len(json.dumps(replies)), exception=error, context={})
        write_log({"sender": sender, "message_id": message_id, "state": "answered" if error is None else "failed",
                   "error": str(error) if error else None, "ms": round(elapsed, 1), "retries": retries,
                   "t": time.time()})
        if error is not None:
            raise error
        if self.handed_over(replies):
            self.pause()
            self.say(sender, RNG.choice(SAY[self.lang]["waiting"]), kind, expect_answer=False)
            raise HandedOver()
        return replies

    @staticmethod
    def handed_over(replies: list[dict[str, Any]]) -> bool:
        texts = " ".join(str(r.get("text") or "") for r in replies if isinstance(r, dict))
        return any(start in texts for start in CONFIG.get("handoff_texts", []))

    @staticmethod
    def problem(replies: Any, expect_answer: bool) -> Exception | None:
        if not isinstance(replies, list):
            return TurnFailed("not a list of messages")
        if expect_answer and not replies:
            return TurnFailed("no answer")
        texts = " ".join(str(r.get("text") or "") for r in replies if isinstance(r, dict))
        if any(apology in texts for apology in CONFIG.get("apologies", [])):
            return TurnFailed("apology")
        return None

    def pause(self) -> None:
        time.sleep(RNG.uniform(*self.think))

    # --- conversations ------------------------------------------------------------------

    @task
    def conversation(self) -> None:
        try:
            if CONFIG.get("bot") == "starter":
                self.starter_conversation()
            else:
                self.assistant_conversation()
        except (TurnFailed, HandedOver):
            pass  # an error is counted already; after a handoff a person answers, not the bot

    def assistant_conversation(self) -> None:
        known = RNG.random() < CONFIG.get("known_share", 0.75)
        # Each conversation of a known customer has a sender of its own (one handed to a person stays
        # paused): `first_sender` continues where the previous step stopped.
        number = CONFIG.get("first_sender", 0) + next(SENDERS)
        sender = f"load-{number % CONFIG['known']}" if known else f"guest-{uuid.uuid4().hex[:12]}"
        kind = weighted(KINDS if known else GUEST_KINDS)
        self.lang = weighted(LANGS)
        say = SAY[self.lang]
        if RNG.random() < 0.6:
            self.say(sender, RNG.choice(say["greet"]), kind)
            self.pause()
        if kind == "booking":
            self.book(sender, say)
        elif kind == "status":
            self.say(sender, RNG.choice(say["status"]), kind)
            self.pause()
            self.say(sender, RNG.choice(say["after_status"]), kind)
        elif kind == "advice":
            for text in RNG.sample(say["advice"], 2):
                self.say(sender, text, kind)
                self.pause()
        elif kind == "info":
            for text in RNG.sample(say["info"], 2):
                self.say(sender, text, kind)
                self.pause()
        else:  # a person: the bot pauses, the customer writes once more while waiting (in `say`)
            self.say(sender, RNG.choice(say["human"]), kind)
        self.pause()
        self.say(sender, RNG.choice(say["thanks"] + say["bye"]), kind)

    def book(self, sender: str, say: dict[str, Any]) -> None:
        """Ask for a booking and answer the bot until it confirms (or gives up after 8 turns)."""
        replies = self.say(sender, RNG.choice(say["book"]), "booking")
        for _ in range(8):
            text = " ".join(str(r.get("text") or "") for r in replies)
            if REFERENCE.search(text):
                return
            buttons = [b for r in replies for b in r.get("buttons") or []]
            times = [b["payload"] for b in buttons if "slot_choice" in b.get("payload", "")]
            payloads = {b.get("payload", "") for b in buttons}
            self.pause()
            if times:
                answer = RNG.choice(times)
            elif any(p.startswith("/affirm") for p in payloads) and "?" in text:
                if PRICE.search(text) and not any("suggestion" in p for p in payloads):
                    answer = say["yes"]  # the summary: confirm it
                elif any("suggestion" in p for p in payloads):
                    answer = RNG.choice([p for p in payloads if "suggestion" in p])  # an offer: take it or not
                else:
                    answer = say["no"]  # the loaner car: no thanks
            else:
                answer = say["yes"] if "?" in text else RNG.choice(say["book"])
            replies = self.say(sender, answer, "booking")

    def starter_conversation(self) -> None:
        """The starter bot's own stories: a greeting, a mood, "did that help?" answered when it asks."""
        sender = f"starter-{uuid.uuid4().hex[:12]}"  # a new conversation, never one of an earlier step
        kind = "starter"
        self.say(sender, RNG.choice(STARTER["greet"]), kind)
        self.pause()
        replies = self.say(sender, RNG.choice(STARTER["mood"]), kind)
        if "help" in " ".join(str(r.get("text") or "") for r in replies):
            self.pause()
            if RNG.random() < 0.5:
                self.say(sender, RNG.choice(["no", "never"]), kind)  # the bot says goodbye: the end
                return
            self.say(sender, RNG.choice(["yes", "of course"]), kind)
        if RNG.random() < 0.5:
            self.pause()
            self.say(sender, RNG.choice(STARTER["challenge"]), kind)
        self.pause()
        self.say(sender, RNG.choice(STARTER["bye"]), kind)
