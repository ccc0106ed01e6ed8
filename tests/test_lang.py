"""detect_language on real chat messages, and choose_language's order.

The sentences are the kind customers type: short, lower case, some informal. The key
property is that a message is never put in the wrong language: a wrong guess switches the
whole conversation, while None only keeps the conversation's language.
"""

from __future__ import annotations

import time

import pytest

from bot.lang import (
    DEFAULT_LANGUAGE,
    SUPPORTED,
    choose_language,
    detect_language,
    detect_language_with_confidence,
)

# Detected exactly.
NB_CLEAR: list[str] = [
    "hei, jeg vil bestille service",
    "er bilen min ferdig?",
    "kan jeg flytte timen min",
    "tusen takk for hjelpen",
    "jeg trenger lånebil mens bilen står hos dere",
    "hva koster EU-kontroll?",
    "når har dere åpent på lørdag?",
    "hvor skal jeg levere bilen?",
    "jeg vil avbestille timen min",
    "kan dere skifte dekk neste tirsdag?",
    "send meg fakturaen på e-post",
    "kan jeg betale med vipps?",
    "jeg vil snakke med et menneske",
    "dette er ikke akseptabelt, bilen er fortsatt ikke ferdig",
    "hva bør jeg gjøre med bilen før vinteren?",
    "slett alle opplysningene dere har om meg",
    "hvilke data har dere lagret om meg?",
    "jeg vil bytte til sommerdekk",
    "passer det best på formiddagen?",
    "nei takk, jeg trenger ikke lånebil",
    "god morgen! jeg lurer på om dere har ledig tid i morgen",
    "hvor mye skylder jeg dere",
    "kan jeg få påminnelse på sms",
    "bilen min lager en rar lyd når jeg bremser",
    "takk skal du ha",
    "god morgen",
    "hei hei, jeg har et spørsmål",
    "takk for hjelpen!",
    "tusen takk",
    "ha det og takk",
    "ja takk",
    "ja, det høres bra ut",
    "nei, ikke nå",
    "nei takk",
    "helt greit, kjør på",
    "er du et ekte menneske?",
    "er det en robot jeg snakker med",
    "jeg vil bestille dekkskift på fredag",
    "kan dere ta service på volvoen min neste uke",
    "bestill EU-kontroll og vask",
    "jeg vil leie en takboks til helgen",
    "kan jeg få time til polering?",
    "jeg må flytte bestillingen min",
    "går det an å endre tiden til torsdag?",
    "avbestill timen min er du snill",
    "jeg vil avlyse servicen",
    "hvordan går det med bilen min?",
    "når kan jeg hente bilen?",
    "blir servicen ferdig snart",
    "trenger jeg lånebil?",
    "finnes det lånebil i mellomtiden",
    "hva koster et dekkskift?",
    "hvor mye koster innvendig vask",
    "har dere en prisliste?",
    "hva er åpningstidene deres?",
    "har dere åpent på søndag",
    "hvor ligger verkstedet?",
    "hvor skal jeg legge igjen nøklene",
    "send fakturaen på nytt",
    "når forfaller fakturaen",
    "hva bør jeg tenke på før vinteren",
    "trenger bilen service snart?",
    "endre kontaktkanal til sms",
    "jeg vil ikke ha påminnelser lenger",
    "hvilke opplysninger har dere om meg",
    "fjern alt dere har om meg",
    "jeg vil snakke med noen i kundeservice",
    "sett meg over til en saksbehandler",
    "dette er helt uakseptabelt",
    "dere lovet at bilen skulle være ferdig i går",
    "hvordan blir været i morgen",
    "fortell en vits",
    "neste tirsdag passer",
    "på fredag klokka ti",
    "den første tiden passer meg",
    "i morgen formiddag",
    "nummeret mitt er +47 912 34 567",
    "er bilen ferdig",
    "hei! jeg lurer på om dere har tid til å se på bremsene",
    "bilen min ble ikke ferdig i går slik dere lovet",
    "hvor lang tid tar en service på en tesla",
    "kan jeg vente mens dere skifter dekk?",
    "dekkhotell, har dere det?",
    "jeg har glemt når timen min er",
    "må jeg ta med vinterdekkene selv",
    "det lyser en varsellampe på dashbordet",
    "hvem kan jeg ringe hvis det haster",
    "kan dere hente bilen hjemme hos meg",
    "jeg fikk regning to ganger",
    "ikke send meg flere sms",
    "hva skjer med dataene mine",
    "blir det dyrere på lørdager",
    "vil ha time så fort som mulig",
    "er det mulig å få vasket bilen samtidig",
    "jeg kommer litt for sent, er det greit?",
    "kan jeg parkere utenfor verkstedet",
    "funker det å betale i kassa",
    "takk for god service sist",
    "jeg er misfornøyd med polering",
    "trenger dere nøkkelen før klokka åtte",
    "ring meg heller enn å sende e-post",
    "skriv på norsk takk",
    "har dere ledig neste uke",
]

SV_CLEAR: list[str] = [
    "hej, jag vill boka service",
    "är min bil klar?",
    "kan jag flytta min tid",
    "tack så mycket för hjälpen",
    "jag behöver en lånebil medan bilen är hos er",
    "vad kostar besiktning?",
    "när har ni öppet på lördag?",
    "var ska jag lämna bilen?",
    "jag vill avboka min tid",
    "kan ni byta däck nästa tisdag?",
    "skicka fakturan till min e-post",
    "kan jag betala med kort?",
    "jag vill prata med en människa",
    "det här är inte acceptabelt, bilen är fortfarande inte klar",
    "vad borde jag göra med bilen innan vintern?",
    "radera alla uppgifter ni har om mig",
    "vilka uppgifter har ni sparat om mig?",
    "är du en robot?",
    "jag vill byta till sommardäck",
    "passar det bäst på förmiddagen?",
    "nej tack, jag behöver ingen lånebil",
    "god morgon! jag undrar om ni har en ledig tid i morgon",
    "hur mycket är jag skyldig er",
    "kan jag få påminnelser via sms",
    "min bil låter konstigt när jag bromsar",
    "tack ska du ha",
    "hej då",
    "god morgon",
    "hallå där",
    "hej hej, jag har en fråga",
    "tack för hjälpen!",
    "hejdå och tack",
    "vi hörs",
    "ja tack",
    "nej, inte nu",
    "nej tack",
    "absolut, kör på det",
    "är du en riktig människa?",
    "är det en robot jag pratar med",
    "jag vill boka däckbyte på fredag",
    "kan ni göra service på min volvo nästa vecka",
    "boka besiktning och tvätt",
    "jag vill hyra en takbox till helgen",
    "kan jag få en tid för polering?",
    "jag måste flytta min bokning",
    "går det att ändra tiden till torsdag?",
    "avboka min tid är du snäll",
    "jag vill avbeställa servicen",
    "hur går det med min bil?",
    "när kan jag hämta bilen?",
    "är servicen klar snart",
    "behöver jag en lånebil?",
    "finns det lånebil under tiden",
    "vad kostar ett däckbyte?",
    "hur mycket kostar en rekond",
    "vilka öppettider har ni?",
    "har ni öppet på söndag",
    "vart ska jag lämna nycklarna",
    "skicka fakturan igen",
    "kan jag betala med swish?",
    "när ska fakturan betalas",
    "vad ska jag tänka på inför vintern",
    "behöver bilen service snart?",
    "ändra kontaktkanal till sms",
    "jag vill inte ha påminnelser längre",
    "vilka uppgifter har ni om mig",
    "ta bort allt ni har om mig",
    "jag vill prata med någon på kundtjänst",
    "koppla mig till en handläggare",
    "det här är helt oacceptabelt",
    "ni har lovat att bilen skulle vara klar igår",
    "vad blir det för väder imorgon",
    "berätta ett skämt",
    "nästa tisdag passar bra",
    "på fredag klockan tio",
    "den första tiden passar mig",
    "i morgon förmiddag",
    "min e-post är namn@example.se",
    "koden är 123456",
    "jag har ett nummer, 070-123 45 67",
    "är min bil färdig",
    "hej! jag undrar om ni har tid att titta på bromsarna",
    "min bil blev inte klar igår som ni lovade",
    "hur lång tid tar en service på en tesla",
    "kan jag vänta medan ni byter däck?",
    "jag har glömt när min tid är",
    "måste jag ta med vinterdäcken själv",
    "det lyser en varningslampa på instrumentbrädan",
    "vem kan jag ringa om det är bråttom",
    "kan ni hämta bilen hemma hos mig",
    "jag fick fakturan två gånger",
    "skicka inga fler sms till mig",
    "vad händer med mina uppgifter",
    "blir det dyrare på lördagar",
    "vill ha en tid så snart som möjligt",
    "går det att få bilen tvättad samtidigt",
    "jag kommer lite sent, är det okej?",
    "kan jag parkera utanför verkstaden",
    "funkar det att betala i kassan",
    "tack för bra service förra gången",
    "jag är missnöjd med poleringen",
    "behöver ni nyckeln före klockan åtta",
    "ring mig hellre än att skicka mejl",
    "skriv på svenska tack",
    "har ni något ledigt nästa vecka",
]

EN_CLEAR: list[str] = [
    "hi, I want to book a service",
    "is my car ready?",
    "can I move my appointment",
    "thanks a lot for your help",
    "I need a loaner car while mine is in the workshop",
    "how much is the MOT?",
    "when are you open on Saturday?",
    "where do I drop off the car?",
    "I want to cancel my booking",
    "can you change my tyres next Tuesday?",
    "please send me the invoice by email",
    "can I pay by card?",
    "I want to talk to a person",
    "this is unacceptable, my car still isn't ready",
    "what should I do with my car before winter?",
    "delete all the data you have about me",
    "what data do you have stored about me?",
    "are you a bot?",
    "I'd like to switch to summer tyres",
    "does the morning suit you best?",
    "no thanks, I don't need a courtesy car",
    "yes, that works for me",
    "good morning! do you have any free slots tomorrow",
    "how much do I owe you",
    "can I get reminders by text message",
    "my car makes a weird noise when I brake",
    "thank you very much",
    "see you later",
    "good morning",
    "hello there",
    "hey, quick question",
    "thanks for your help!",
    "bye and thanks",
    "have a nice day",
    "yes please",
    "yes, sounds good",
    "no, not now",
    "no thanks",
    "sure, go ahead",
    "are you a real person?",
    "am I talking to a robot",
    "I'd like to book a tyre change on Friday",
    "can you service my Volvo next week",
    "book an inspection and a wash",
    "I want to rent a roof box for the weekend",
    "could I get an appointment for polishing?",
    "I have to reschedule my booking",
    "is it possible to change the time to Thursday?",
    "please cancel my appointment",
    "I want to cancel the service",
    "how is my car doing?",
    "when can I pick up the car?",
    "will the service be done soon",
    "do I need a loaner car?",
    "is there a courtesy car available in the meantime",
    "how much is a tyre change?",
    "what does a full valet cost",
    "do you have a price list?",
    "what are your opening hours?",
    "are you open on Sunday",
    "where is the workshop?",
    "where should I leave the keys",
    "send the invoice again",
    "can I pay with Vipps?",
    "when is the invoice due",
    "what should I think about before winter",
    "does my car need a service soon?",
    "change my contact channel to sms",
    "I don't want reminders anymore",
    "what information do you have on me",
    "show my profile",
    "remove everything you have about me",
    "I'd like to speak to someone in customer service",
    "put me through to an agent",
    "this is completely unacceptable",
    "you promised my car would be ready yesterday",
    "what's the weather tomorrow",
    "next Tuesday works",
    "on Friday at ten",
    "the first slot suits me",
    "tomorrow morning",
    "my email is name@example.com",
    "the code is 123456",
    "my number is +47 912 34 567",
    "is my car finished",
    "hi! wondering if you have time to look at my brakes",
    "my car wasn't ready yesterday like you promised",
    "how long does a service take on a tesla",
    "can I wait while you change the tyres?",
    "tyre hotel, do you have that?",
    "I forgot when my appointment is",
    "do I have to bring the winter tyres myself",
    "there's a warning light on the dashboard",
    "who can I call if it's urgent",
    "can you pick up the car from my house",
    "I got billed twice",
    "what happens to my data",
    "is it more expensive on saturdays",
    "want a slot asap",
    "could you wash the car at the same time",
    "running a bit late, is that ok?",
    "can I park outside the garage",
    "does paying at the counter work",
    "thanks for the great service last time",
    "not happy with the polish job",
    "do you need the key before eight",
    "call me instead of emailing",
    "please write in english",
    "anything free next week",
]

# Too close to tell for lingua (short phrases that nb and sv share almost word for word,
# greetings, slang): None is fine here, the other language never.
NB_HARD: list[str] = [
    "er du en robot?",
    "ja, det passer fint",
    "hallo der",
    "ha en fin dag",
    "snakkes",
    "vis profilen min",
    "e-posten min er navn@example.no",
    "koden er 123456",
]

SV_HARD: list[str] = [
    "ja, det passar bra",
    "tackar",
    "ja, det låter bra",
    "har ni en prislista?",
    "var ligger verkstaden?",
    "visa min profil",
    "däckhotell, har ni det?",
]

EN_HARD: list[str] = [
    "cheers",
    "talk soon",
    "tell me a joke",
    "stop sending me texts",
]

# No language to tell: too short, the same in several languages, or no words at all.
# One-word messages are never judged (lingua gets "halla", "sees", "javisst" wrong with
# high confidence); the conversation's language is the better guess for them.
UNCLEAR = [
    "",
    "   ",
    "ok",
    "OK!",
    "ok ok",
    "hei",
    "hej",
    "hi",
    "ja",
    "nei",
    "nej",
    "yes",
    "no",
    "takk",
    "tack",
    "thanks",
    "ha det bra",
    "1234",
    "123456",
    "+47 912 34 567",
    "kl 10",
    "24.11",
    "FB-7K2Q9",
    "navn@example.no",
    "https://example.no/booking/123",
    "👍",
    "🙂🙂",
    "?",
    "...",
]


@pytest.mark.parametrize("text", NB_CLEAR)
def test_norwegian(text: str) -> None:
    assert detect_language(text) == "nb"


@pytest.mark.parametrize("text", SV_CLEAR)
def test_swedish(text: str) -> None:
    assert detect_language(text) == "sv"


@pytest.mark.parametrize("text", EN_CLEAR)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "language"),
    [(t, "nb") for t in NB_HARD] + [(t, "sv") for t in SV_HARD] + [(t, "en") for t in EN_HARD],
)
def test_hard_cases_are_never_the_wrong_language(text: str, language: str) -> None:
    assert detect_language(text) in (language, None)


@pytest.mark.parametrize("text", UNCLEAR)
def test_unclear_messages_have_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_the_brief_examples() -> None:
    assert detect_language("hei, jeg vil bestille service") == "nb"
    assert detect_language("hej, jag vill boka service") == "sv"
    assert detect_language("hi, I want to book a service") == "en"
    assert detect_language("er bilen min ferdig?") == "nb"
    assert detect_language("är min bil klar?") == "sv"
    assert detect_language("kan jeg flytte timen min") == "nb"
    assert detect_language("kan jag flytta min tid") == "sv"


def test_thanks_in_two_words_is_detected() -> None:
    assert detect_language("tusen takk") == "nb"
    assert detect_language("tack så mycket") == "sv"
    assert detect_language("thank you") == "en"


def test_numbers_and_addresses_do_not_count_but_the_words_around_them_do() -> None:
    assert detect_language("ring meg på +47 912 34 567 i morgen") == "nb"
    assert detect_language("min e-post är namn@example.se, skicka fakturan dit") == "sv"
    assert detect_language("my booking code is FB-7K2Q9, is the car ready?") == "en"


def test_mixed_languages_follow_the_main_one() -> None:
    assert detect_language("hei, can you help me with my booking?") == "en"
    assert detect_language("hello, jeg vil bestille dekkskift på fredag") == "nb"


def test_non_text_has_no_language() -> None:
    assert detect_language(None) is None  # type: ignore[arg-type]
    assert detect_language(42) is None  # type: ignore[arg-type]


def test_confidence_is_a_probability() -> None:
    detected = detect_language_with_confidence("kan jag betala med kort?")
    assert detected is not None
    code, confidence = detected
    assert code == "sv"
    assert 0.0 < confidence <= 1.0
    assert detect_language_with_confidence("ok") is None


def test_long_text_is_judged_on_its_start() -> None:
    text = "jeg vil gjerne bestille service på bilen min. " * 200 + "I want to book a service. " * 200
    started = time.perf_counter()
    assert detect_language(text) == "nb"
    assert time.perf_counter() - started < 1.0


def test_choose_language_prefers_the_detected_language() -> None:
    assert choose_language("sv", "en", "nb") == "sv"


def test_choose_language_then_the_conversation() -> None:
    assert choose_language(None, "en", "sv") == "en"


def test_choose_language_then_the_profile() -> None:
    assert choose_language(None, None, "sv") == "sv"


def test_choose_language_defaults_to_norwegian() -> None:
    assert choose_language(None, None, None) == "nb" == DEFAULT_LANGUAGE


def test_choose_language_skips_unsupported_values() -> None:
    assert choose_language("de", "fr", "en") == "en"
    assert choose_language("", "NB", None) == "nb"
    assert choose_language("da", None, "xx") == DEFAULT_LANGUAGE


def test_supported_languages() -> None:
    assert SUPPORTED == ("nb", "sv", "en")
    assert DEFAULT_LANGUAGE in SUPPORTED
