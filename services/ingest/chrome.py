"""Site chrome: the paragraphs a page wraps around a story, told apart by their shape.

Each paragraph is reduced to a few features (length, whether it ends like a sentence, capital,
link and handle ratios, position in the document) and matched against rules that pair a
feature test with a small vocabulary of calls to action, navigation, teasers and credits.
Vocabulary alone is never enough for a long paragraph: news can say "subscribe" or
"copyright", but news rarely says it in a short unpunctuated line, to "you", beside a handle.
No rule knows any one site's strings, so the classifier works on sites it has never seen.

What is not chrome is kept, however short: a one-sentence paragraph is news, and a short line
without final punctuation in the middle of the text is a subheading, which is structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.ingest.text import WordParts, word_parts, word_set, words_in

__all__ = ["Features", "classify", "classify_features", "ends_sentence", "features", "measure"]

_URL = re.compile(
    r"(?:https?://|www\.|pic\.twitter\.com/)\S+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|ru|ua|uk|de|fr|io|co|me|info|news|tv)\b(?:/\S*)?",
    re.IGNORECASE,
)
_LINK_HINT = re.compile(
    r"://|www\.|\.(?:com|org|net|ru|ua|uk|de|fr|io|co|me|info|news|tv)\b", re.IGNORECASE
)
# The same pattern matched against lowercased text: without IGNORECASE the regex engine can
# skip ahead on literal prefixes, three times faster (see ``_search_folded``).
_LINK_HINT_FOLDED = re.compile(_LINK_HINT.pattern)
_POST_HINT = re.compile(r"\bpost\b", re.IGNORECASE)
_SWITCHER_TOKEN = re.compile(r"[^\s|/·•,]+")
_HANDLE = re.compile(r"(?<![\w.])@\w{2,30}")
# A sentence ends in one of these, then any number of closing quotes and brackets.
_SENTENCE_ENDERS = (".", "!", "?", "…", "。", "！", "？", "．")
_CLOSERS = "\"'”’»)]」』）】"
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_LONG = 80
"""Words above which a paragraph is content unless it carries an embedded post's links:
every shape rule below applies to shorter paragraphs only."""


_LANGUAGE_CODES = word_set(
    "ar az be bg bs ca cs da de el en es et fa fi fr ga he hi hr hu hy id it ja ka kk ko ky "
    "lt lv mk ms nl no pl pt ro ru sk sl sq sr sv tg th tk tr ua uk ur uz vi zh"
)
_LANGUAGE_NAMES = word_set(
    "english deutsch français español italiano português русский українська беларуская "
    "polski čeština türkçe العربية 中文 日本語 한국어 қазақша o'zbek română magyar"
)

# Vocabulary: short phrase patterns, each meaningful only together with a shape test below.
_AD = re.compile(
    r"^(?:advertisement|advertising|advert|ads?|sponsored(?: content)?|promoted|"
    r"paid (?:content|post|partnership)|partner content|"
    r"(?:story|article) continues below(?: advertisement)?|"
    r"continue reading(?: below| the main story)?|scroll (?:down )?to continue(?: with content)?)$",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"\b(?:join us|follow us|follow our|follow me|subscribe|sign[- ]?up|newsletters?|"
    r"download (?:our|the) app|get (?:our|the) app|support (?:our|independent|quality) journalism|"
    r"donate|become a (?:member|subscriber|supporter|patron)|click here|tap here|"
    r"turn on notifications|like us on|find us on|stay (?:informed|updated|connected|tuned)|"
    r"don'?t miss (?:out|a story|the latest)|get the latest|news alerts|"
    r"enter your e-?mail|(?:in|to) your inbox|our (?:telegram|whatsapp|youtube|facebook) "
    r"(?:channel|page|group))\b",
    re.IGNORECASE,
)
# Substrings every match of the pattern below it contains: ``in`` tests on the lowercased
# text rule out most news paragraphs far faster than the regex scan (profiled: the CTA and
# copyright scans were a third of the classifier's time).
_CTA_HINTS = (
    "join",
    "follow",
    "subscri",
    "sign",
    "newsletter",
    "app",
    "journalism",
    "donate",
    "become a",
    "click",
    "tap here",
    "notification",
    "like us",
    "find us",
    "stay ",
    "miss",
    "latest",
    "alert",
    "mail",
    "inbox",
    "channel",
    "page",
    "group",
)
_COPYRIGHT_HINTS = ("©", "(c)", "copyright", "reserved", "may not be")


# The phrases themselves, one of which every match of ``_CALL_TO_ACTION`` contains: the hints
# above let through a quarter of news paragraphs ("app" in "happened"), these almost none, so
# the regex scan is left for the paragraphs that can match.
_CTA_PHRASES = (
    "join us",
    "follow us",
    "follow our",
    "follow me",
    "subscribe",
    "sign up",
    "signup",
    "sign-up",
    "newsletter",
    "our app",
    "the app",
    "journalism",
    "donate",
    "become a ",
    "click here",
    "tap here",
    "notifications",
    "like us on",
    "find us on",
    "stay informed",
    "stay updated",
    "stay connected",
    "stay tuned",
    "miss out",
    "miss a story",
    "the latest",
    "news alerts",
    "enter your e",
    "your inbox",
    "our telegram",
    "our whatsapp",
    "our youtube",
    "our facebook",
)
_SHARE_VERBS = ("share", "tweet", "email", "e-mail", "print")


def _has_any(text: str, needles: tuple[str, ...]) -> bool:
    # map over the bound method: a generator expression costs a frame resume per needle
    # (it was the classifier's most called function, profiled)
    return any(map(text.__contains__, needles))


def _may_contain(f: Features, needles: tuple[str, ...]) -> bool:
    """False only when no case-insensitive match of any of these lowercase ASCII needles is
    in the text, so that a regex built from them need not scan it (a substring test is a
    fraction of the scan's cost).

    ``lower`` (``text.lower()``) holds every such match lowercased, except where the match
    spells a letter with a character that case-insensitive matching takes for an ASCII
    letter while ``str.lower`` turns it into something else: long s (s), dotless i and
    capital dotted I (i). Text with one of those (``Features.case_trap``) always answers True.
    """
    return _has_any(f.lower, needles) or f.case_trap


def _has_case_trap(text: str) -> bool:
    # all three are outside ASCII, and str.isascii() is a flag lookup
    return not text.isascii() and ("\u017f" in text or "\u0131" in text or "\u0130" in text)


def _search_folded(
    pattern: re.Pattern[str], folded: re.Pattern[str], text: str, lower: str, case_trap: bool
) -> bool:
    """``pattern`` (IGNORECASE, written in lowercase) found in ``text``, answered by its
    case-sensitive twin ``folded`` on ``lower`` where that is the same question.

    It is, checked over every code point: outside the three case traps (see
    ``_may_contain``) lowercasing maps each character to one character, keeps word
    characters word characters (so ``\\b`` sees the same boundaries), and gives an ASCII
    letter exactly for the characters that case-insensitive matching takes for it.
    ``case_trap`` is ``_has_case_trap(text)``, which the caller has measured.
    """
    if case_trap:
        return pattern.search(text) is not None
    return folded.search(lower) is not None


_REPORTED = re.compile(
    r"\b(?:said|says|told|according to|reported|added|urged|asked|announced|warned)\b",
    re.IGNORECASE,
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|us|our)\b", re.IGNORECASE)
_CROSS_LINK = re.compile(
    r"^(?:read(?: also| more| next)?|also read|see also|related(?: articles?| stories| coverage"
    r"| news| content)?|more|recommended|watch|listen|must read|don'?t miss|further reading|"
    r"more on this(?: story)?|explore more|in pictures|opinion|analysis|explainer)"
    r"\s*(?::|\||›|»|–|—|-{1,2}|>)\s*\S",
    re.IGNORECASE,
)
_TEASER = re.compile(
    r"^(?:(?:other|more|related|top|popular|similar|recommended|featured|latest|trending)\s+"
    r"(?:topics|stories|articles|news|reads|posts|videos)(?:\s+(?:of interest|for you|"
    r"you (?:may|might) (?:also )?like|from [\w ]{1,30}|now|today))?|"
    r"you (?:may|might) (?:also )?(?:like|be interested in)|recommended for you|most read|"
    r"most (?:popular|viewed|shared)|editor'?s picks?|read next|up next|what to read next)\b",
    re.IGNORECASE,
)
_NAVIGATION = re.compile(
    r"^(?:home|menu|search|skip to (?:main )?content|back to top|go to top|next article|"
    r"previous article|next|previous|log ?in|sign ?in|log ?out|register|my account|"
    r"(?:latest|breaking|top|more|all|world|local) (?:news|stories|headlines|updates)|"
    r"load more|show more|view all|see all|more news|all news|news feed|sections|"
    r"print(?: this)?(?: page| article)?|comments?(?: \(\d+\))?|leave a comment|"
    r"\d+ comments?)$",
    re.IGNORECASE,
)
_TAGS = re.compile(r"^(?:tags?|topics|filed under|categories|keywords)\s*:", re.IGNORECASE)
_SHARE_WORDS = word_set(
    "share shares sharing tweet email e-mail mail print copy copied link links url facebook "
    "twitter x whatsapp telegram linkedin reddit pinterest messenger viber vk ok flipboard "
    "this article story page on via with friends save bookmark"
)
_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_COOKIE_CONTEXT = re.compile(
    r"\b(?:accept|consent|privacy|agree|settings|preferences|we use|this (?:site|website)|"
    r"browsing|experience)\b",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(
    r"©|\(c\)\s*(?:19|20)\d{2}|^copyright\b|\bcopyright\s*(?:©|\(c\)|(?:19|20)\d{2})|"
    r"\ball rights? reserved\b|\bmay not be (?:published|reproduced|redistributed)\b",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^[(\[]?\s*(?:(?:main|top|featured|header|cover|lead|title)\s+)?"
    r"(?:photos?|images?|pictures?|pics?|videos?|illustrations?|graphics?|footage|"
    r"source|credits?|courtesy)"
    r"(?:\s+(?:source|credits?|courtesy(?: of)?|by|from))?\s*(?P<sep>:|/|\||–|—|\bby\b|\bof\b)",
    re.IGNORECASE,
)
_AGENCY_CREDIT = re.compile(
    r"\b(?:getty images|shutterstock|afp|ap photo|reuters|epa|anadolu|tass|ria novosti|"
    r"xinhua|alamy|ukrinform)\s*(?:/|via|$)|/\s*(?:getty images|afp|reuters|ap|epa)\b",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?:by|written by|words by|reporting by|writing by|editing by|additional reporting by|"
    r"compiled by)\s+\S",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^[—–-]\s*[^()\n]{1,80}?\s*\(\s*@\w{1,30}\s*\)\s*"
    r"(?:(?:[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}|\d{4}-\d{2}-\d{2})"
    r".*)?$",
    re.IGNORECASE,
)
_SOCIAL_LINK = re.compile(
    r"pic\.twitter\.com/|\bt\.co/|\b(?:twitter|x|instagram|facebook|tiktok|t)\.(?:com|me)/|"
    r"youtu\.be/|youtube\.com/watch|\ba post shared by\b|\bview this post on\b",
    re.IGNORECASE,
)
# Case-sensitive twins of the slowest IGNORECASE patterns the rules search, for
# ``_search_folded`` (both are written in lowercase): on the lowercased text the engine can
# skip ahead on literals (measured on 350-character news paragraphs: _CALL_TO_ACTION 27 -> 9
# us, _SOCIAL_LINK 33 -> 22 us; _POST_HINT, which opens with \b, gains nothing).
_CALL_TO_ACTION_FOLDED = re.compile(_CALL_TO_ACTION.pattern)
_SOCIAL_LINK_FOLDED = re.compile(_SOCIAL_LINK.pattern)


@dataclass(frozen=True, slots=True)
class Features:
    """What the rules look at in one paragraph; computed once, cheaply (no parsing).

    The shape ratios are properties, computed only when a rule asks: one rule reads
    ``caps_ratio`` (after its vocabulary matched) and only the heading test reads
    ``title_ratio``, yet computing both for every paragraph was a third of the classifier's
    time (profiled on the seeds).
    """

    text: str
    index: int
    total: int
    words: int
    sentence_end: bool
    links: int
    handles: int
    lower: str
    case_trap: bool
    """Whether the text holds one of the letters ``_may_contain`` cannot test on ``lower``
    (three scans of the text, so measured once instead of by every rule that asks)."""
    word_parts: WordParts
    """The parts ``words`` was counted from: normalization sums them over the paragraphs it
    keeps instead of counting the article's words again (:func:`~services.ingest.text.words_in`)."""

    @property
    def link_ratio(self) -> float:
        return (self.links + self.handles) / max(self.words, 1)

    @property
    def is_short(self) -> bool:
        return self.words <= 12

    @property
    def from_end(self) -> int:
        return self.total - 1 - self.index

    @property
    def caps_ratio(self) -> float:
        """Share of capitals among the prose's letters; 0.0 for a long paragraph."""
        if self.words > _LONG:
            return 0.0
        letters = _NOT_LETTER.sub("", self._prose())
        if not letters:
            return 0.0
        capitals: int = sum(map(str.isupper, letters))
        return capitals / len(letters)

    @property
    def title_ratio(self) -> float:
        """Share of capitalized words among the prose's words of four letters or more."""
        if self.words > _LONG:
            return 0.0
        long_words: list[str] = [w for w in _WORD.findall(self._prose()) if len(w) > 3]
        if not long_words:
            return 0.0
        return sum(w[0].isupper() for w in long_words) / len(long_words)

    def _prose(self) -> str:
        # Shape ratios only matter to the rules for short paragraphs, so long ones skip them.
        # Measured on the prose: a URL's letters say nothing about shouting.
        if not (self.links or self.handles):
            return self.text
        return _HANDLE.sub(" ", _URL.sub(" ", self.text))


def features(text: str, index: int = 0, total: int = 1) -> Features:
    # the full URL pattern is slow on long prose; a literal hint rules most paragraphs out,
    # and a handle needs its "@"
    lower = text.lower()
    case_trap = _has_case_trap(text)
    hinted = _search_folded(_LINK_HINT, _LINK_HINT_FOLDED, text, lower, case_trap)
    links = len(_URL.findall(text)) if hinted else 0
    handles = len(_HANDLE.findall(text)) if "@" in text else 0
    parts = word_parts(text)
    return Features(
        text=text,
        index=index,
        total=total,
        words=words_in((parts,)),
        sentence_end=ends_sentence(text),
        links=links,
        handles=handles,
        lower=lower,
        case_trap=case_trap,
        word_parts=parts,
    )


def ends_sentence(text: str) -> bool:
    """Whether the text ends like a sentence: ``[.!?…]`` and then only closing quotes and
    brackets, up to the end or to a final newline (where a regex ``$`` matches too).

    String methods, not a regex: a regex anchored at the end is still tried from every
    position of the paragraph.
    """
    if text.rstrip(_CLOSERS).endswith(_SENTENCE_ENDERS):
        return True
    return text.endswith("\n") and text[:-1].rstrip(_CLOSERS).endswith(_SENTENCE_ENDERS)


_EDGE_PUNCTUATION = re.compile(r"[\s\W_]+$|^[\s\W_]+")
_MENU_SEPARATOR = re.compile(r"\s(?:\||›|»|>|·|•|/)\s")
_SHARE_TOKEN = re.compile(r"[\w-]+")


def _bare(text: str) -> str:
    return _EDGE_PUNCTUATION.sub("", text)


def _is_language_switcher(f: Features) -> bool:
    """2 to 12 tokens, every one a language code or name (``EN | RU | UA``).

    Tokens are read one at a time so that prose fails on its first word instead of being
    split whole (the codes and the names share no token, so "every token is one of them"
    is the same test as counting both). A paragraph that ends like a sentence fails without
    reading a token: its final ``[.!?…。！？．]`` is no separator, so it sits in its last
    token, and no code or name holds one.
    """
    if f.sentence_end:
        return False
    count = 0
    for match in _SWITCHER_TOKEN.finditer(f.text):
        token = match.group()
        lowered = token.lower()
        if not ((len(token) == 2 and lowered in _LANGUAGE_CODES) or lowered in _LANGUAGE_NAMES):
            return False
        count += 1
        if count > 12:
            return False
    return count >= 2


def _is_menu(f: Features) -> bool:
    """A row of short links: 'World | Politics | Business' or 'Home › News › Europe'."""
    if f.sentence_end:
        return False  # tested first: it rules out most paragraphs before the split
    parts = [p.strip() for p in _MENU_SEPARATOR.split(f.text)]
    return 3 <= len(parts) <= 15 and all(len(p.split()) <= 3 for p in parts)


def _is_share_bar(f: Features) -> bool:
    # A share verb as a token is also a substring of the lowercased text, so the substring
    # test (and the sentence-end flag) rule out prose before it is tokenized.
    if f.sentence_end or not _has_any(f.lower, _SHARE_VERBS):
        return False
    tokens = [t.lower() for t in _SHARE_TOKEN.findall(f.text)]
    if not tokens or len(tokens) > 12:
        return False
    hits = sum(1 for t in tokens if t in _SHARE_WORDS)
    has_share_verb = any(t in _SHARE_VERBS for t in tokens)
    return has_share_verb and hits / len(tokens) >= 0.7


def _is_call_to_action(f: Features) -> bool:
    if (
        f.words > 60
        or not _has_any(f.lower, _CTA_HINTS)
        or not _may_contain(f, _CTA_PHRASES)
        or not _search_folded(_CALL_TO_ACTION, _CALL_TO_ACTION_FOLDED, f.text, f.lower, f.case_trap)
    ):
        return False
    if f.text[:1] in "\"“«'‘" or _REPORTED.search(f.text):
        return False  # a call someone made, reported: news, not the site speaking
    return (
        f.words <= 8
        or f.handles > 0
        or f.links > 0
        or f.caps_ratio > 0.35
        or bool(_SECOND_PERSON.search(f.text))
    )


def _is_credit(f: Features) -> bool:
    if f.words > 20:
        return False
    if match := _CREDIT.search(f.text):
        # "Photo: X/AFP" is a credit even with a full stop; "Photos of the damage were
        # shared widely." is a sentence about photos
        return match.group("sep") in {":", "/", "|", "–", "—"} or not f.sentence_end
    # "(John Smith/AFP)" or "Reuters/Jane Doe": a short, unpunctuated agency credit
    return f.words <= 8 and not f.sentence_end and bool(_AGENCY_CREDIT.search(f.text))


def _is_advertisement(f: Features) -> bool:
    return f.words <= 6 and bool(_AD.match(_bare(f.text)))


def _is_social_post(f: Features) -> bool:
    if not f.links and not (_may_contain(f, ("post",)) and _POST_HINT.search(f.text)):
        return False
    return _search_folded(_SOCIAL_LINK, _SOCIAL_LINK_FOLDED, f.text, f.lower, f.case_trap) and (
        f.link_ratio > 0 or f.words <= 12
    )


def _is_navigation(f: Features) -> bool:
    return (f.words <= 6 and bool(_NAVIGATION.match(_bare(f.text)))) or _is_menu(f)


def _is_tags(f: Features) -> bool:
    return f.words <= 40 and bool(_TAGS.match(f.text))


def _is_teaser(f: Features) -> bool:
    """A teaser label followed by nothing, a separator, or a headline (a capital), never by
    a sentence going on in lowercase ("Other news outlets reported ...")."""
    if f.words > 80 or not (match := _TEASER.match(f.text)):
        return False
    rest = f.text[match.end() :].lstrip()
    return not rest or not (rest[0].islower() or rest.startswith(("(", ",")))


def _is_cross_link(f: Features) -> bool:
    """``Read: <headline>``: a label, a separator and a short title, not a quoted sentence."""
    return f.words <= 30 and bool(_CROSS_LINK.match(f.text)) and not f.text.endswith('."')


def _is_cookie_notice(f: Features) -> bool:
    return (
        f.words <= 80
        and "cookie" in f.lower
        and bool(_COOKIE.search(f.text))
        and bool(_COOKIE_CONTEXT.search(f.text))
    )


def _is_copyright(f: Features) -> bool:
    return f.words <= 40 and _has_any(f.lower, _COPYRIGHT_HINTS) and bool(_COPYRIGHT.search(f.text))


def _is_byline(f: Features) -> bool:
    return f.words <= 12 and not f.sentence_end and bool(_BYLINE.match(f.text))


def _is_link_list(f: Features) -> bool:
    return f.words <= 30 and f.link_ratio >= 0.3


# Checked in order; the first match names the kind. Narrow, high-precision shapes come first
# so that e.g. an embedded post is recorded as a post and not as a generic link list.
_RULES: tuple[tuple[str, Callable[[Features], bool]], ...] = (
    ("advertisement", _is_advertisement),
    ("social-post", _is_social_post),
    ("language-switcher", _is_language_switcher),
    ("navigation", _is_navigation),
    ("tags", _is_tags),
    ("teaser", _is_teaser),
    ("cross-link", _is_cross_link),
    ("share-bar", _is_share_bar),
    ("cookie-notice", _is_cookie_notice),
    ("copyright", _is_copyright),
    ("call-to-action", _is_call_to_action),
    ("photo-credit", _is_credit),
    ("byline", _is_byline),
    ("links", _is_link_list),
)


def _single(f: Features) -> str | None:
    """The chrome kind of one paragraph judged on its own, or None for content."""
    if f.words > _LONG:
        # A long paragraph is content even when it quotes a post or carries a link: feeds
        # that flatten a page into one line would otherwise lose the whole article.
        return None
    if f.text.startswith("| ") and f.text.count(" | ") >= 1:
        # a table row as trafilatura writes it ("| 1 | Kyle Busch | 5040 |"): data, not a
        # "Home | World" menu (a menu does not open with the separator)
        return None
    for kind, rule in _RULES:
        if rule(f):
            return kind
    return None


def classify(paragraphs: list[str]) -> list[str | None]:
    """A chrome kind for each paragraph (None: keep it), judged with its neighbours.

    Context rules on top of the single-paragraph ones:
    - an embedded social post is its attribution line (``— Name (@handle) date``) plus the
      post text above it, which carries the post's links;
    - a run of short unpunctuated lines closing the document is a footer: a subheading
      with nothing under it heads nothing.
    """
    return classify_features(measure(paragraphs))


def measure(paragraphs: list[str]) -> list[Features]:
    """Each paragraph's :func:`features`, with its position in the document."""
    total = len(paragraphs)
    return [features(p, i, total) for i, p in enumerate(paragraphs)]


def classify_features(feats: list[Features]) -> list[str | None]:
    """:func:`classify` on paragraphs already measured (:func:`measure`), for a caller that
    reads the features again afterwards."""
    total = len(feats)
    kinds: list[str | None] = [_single(f) for f in feats]
    for i, f in enumerate(feats):
        if f.words <= 30 and _ATTRIBUTION.match(f.text):
            kinds[i] = "social-post"
            j = i - 1
            while j >= 0 and i - j <= 2 and (feats[j].links or feats[j].handles):
                kinds[j] = "social-post"
                j -= 1
    for i in range(total - 1, -1, -1):
        f = feats[i]
        if kinds[i] is not None:
            continue
        if f.words <= 4 and not f.sentence_end and not f.text.endswith("?"):
            kinds[i] = "footer"
            continue
        break
    return kinds
