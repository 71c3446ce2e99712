"""The demo vocabulary: real medical lexica from installed packages, typed and aligned by a seed lexicon.

Why this shape: a synthetic corpus only teaches a model something transferable if its words are real. So the
bulk of the vocabulary comes from lexica that ship inside installed packages, and the hand-written seed
files in `lexicon/` only add what those lack (types, cross-language alignment, note phrasing):

- Spanish diseases and symptoms: ICD-10 descriptions of the `cie` package (levels 2-3; chapter R gives
  symptoms; short, clean descriptions only, so they work as entity strings).
- Dutch: the medical-term and eponymous-disease lists shipped with `deduce` (read as files; importing
  deduce is slow). The medical-term list is untyped, so words are typed by their suffix (`-itis`, `-ose` →
  DISEASE, `-pijn`, `-algie` → SYMPTOM, `-pam`, `-azol` → DRUG, `-scopie`, `-grafie` → PROCEDURE), with a
  stop list.
- Romanian has no packaged lexicon here: besides the seed rows, its disease, drug and procedure terms are
  derived from the Dutch and Spanish terms above by regular suffix and spelling rules (`-itis`→`-ită`,
  `-osis`→`-oză`, `-ine`→`-ină`, `ph`→`f`). Most derived forms are the real Romanian words (faringită, ciroză,
  trombocitopenie); some are plausible approximations, which is acceptable for demo data.
- Eponyms become "ziekte van X" / "boala X" / "enfermedad de X" (and syndrome forms) in all three languages.
- Everyday vocabulary: `wordfreq.top_n_list`, with every medical word removed.

Terms are `Concept`s (a tuple of spelling variants; the first is the usual one). A `Pool` samples concepts
with Zipf-like weights by rank, as real term frequencies are: seed rows first (common conditions), packaged
terms after them in a fixed shuffled order. Everything here is independent of the user's seed, so the
vocabulary is the same "language" for every seed; only the documents drawn from it change.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import re
import unicodedata
import zipfile
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from medadapt.errors import DependencyError

LANGS: tuple[str, ...] = ("nl", "ro", "es")
ENTITY_TYPES: tuple[str, ...] = ("DISEASE", "SYMPTOM", "DRUG", "PROCEDURE", "ANATOMY")

Concept = tuple[str, ...]

# --- Dutch suffix typing of deduce's untyped medical-term list ---
_NL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "DISEASE": (
        "itis", "ose", "oom", "emie", "pathie", "penie", "trofie", "plegie", "kanker", "ontsteking", "cytose",
        "isme",
    ),
    "SYMPTOM": ("pijn", "algie", "rragie"),
    "DRUG": ("pine", "zine", "azol", "olol", "pril", "pam", "statine", "peridol", "orfine", "tyline", "line"),
    "PROCEDURE": ("ectomie", "scopie", "grafie", "tomie", "therapie", "dialyse"),
}  # fmt: skip
_NL_STOP = frozenset(  # a word list reads better as one string
    (
        "anastomose apathie autonoom bloedstroom capitis comatose condoom cytochroom diagnose dose "
        "epidemie fagocytose glucose hersenstroom hypnose katabolisme liposoom mechanisme metabolisme "
        "microorganisme mitose multidose narcose nodose ontsteking organisme overdose prognose symptoom "
        "syndroom unitdose waterstofatoom sinustitis creatininemie acetylcholine alkaline discipline "
        "saline supine reapam flurazapam nitrazapam pijn luchtpijn deletiesyndroom duplicatiesyndroom "
        "golfsyndroom psychosyndroom chronischevermoeidheidssyndroom anatomie dermografie grafie "
        "micrografie therapie xerostomie forectomie "
    ).split()
)

# nl → ro and nl → es: spelling first, then the (post-spelling) suffix; only Greco-Latin words are derived.
_DERIVABLE = {
    "DISEASE": ("itis", "ose", "oom", "emie", "pathie", "penie", "trofie", "plegie", "cytose"),
    "DRUG": _NL_SUFFIXES["DRUG"],
    "PROCEDURE": ("ectomie", "scopie", "grafie", "tomie", "therapie", "dialyse"),
}
_NL_SPELLING = (("ph", "f"), ("th", "t"), ("y", "i"), ("ae", "e"), ("oe", "e"), ("oo", "o"), ("k", "c"))
_NL_SPELLING_RO = (("chemo", "chimio"), ("psych", "psih"), *_NL_SPELLING, ("ch", "c"))
_NL_SPELLING_ES = (
    ("chemo", "quimio"),
    ("psych", "psic"),
    *_NL_SPELLING,
    ("ch", "c"),
    ("pp", "p"),
    ("tt", "t"),
)
_NL_SPELLING_ES += (("ss", "s"), ("mm", "m"))
_NL_SUFFIX_RO = (("itis", "ită"), ("ose", "oză"), ("oom", "om"), ("ine", "ină"), ("dialise", "dializă"))
_NL_SUFFIX_ES = (
    ("itis", "itis"), ("ose", "osis"), ("oom", "oma"), ("emie", "emia"), ("patie", "patía"),
    ("penie", "penia"), ("trofie", "trofia"), ("plegie", "plejia"), ("algie", "algia"),
    ("ectomie", "ectomía"), ("scopie", "scopia"), ("grafie", "grafía"), ("tomie", "tomía"),
    ("terapie", "terapia"), ("ine", "ina"), ("dialise", "diálisis"),
)  # fmt: skip
# es (ICD-10 single words) → ro
_ES_SUFFIX_RO = (
    ("iasis", "iază"), ("itis", "ită"), ("osis", "oză"), ("emia", "emie"), ("patia", "patie"),
    ("algia", "algie"), ("penia", "penie"), ("trofia", "trofie"), ("plejia", "plegie"), ("rragia", "ragie"),
    ("oma", "om"),
)  # fmt: skip
_ES_SPELLING_RO = (("qu", "c"), ("ñ", "ni"), ("ll", "l"), ("y", "i"))
_QUALIFIERS = {  # acute/chronic forms of single-word inflammations: multi-word entities from packaged terms
    "nl": ("acute {}", "chronische {}"),
    "ro": ("{} acută", "{} cronică"),
    "es": ("{} aguda", "{} crónica"),
}
_EPONYM_FORMS = {
    "nl": ("ziekte van {}", "syndroom van {}"),
    "ro": ("boala {}", "sindromul {}"),
    "es": ("enfermedad de {}", "síndrome de {}"),
}
_CIE_SKIP_CHAPTERS = tuple("VWXYZ")
_CIE_SKIP_WORDS = re.compile(
    r"\b(otr[oa]s?|no especificad[oa]s?|persona|atención|examen|secuelas?|historia|efectos?|envenenamiento|"
    r"intoxicación|exposición|contacto|complicaciones?|consecutiv[oa]|debid[oa]s?|parto|embarazo|feto|"
    r"recién nacido|lesionad[oa]|ocupante|caída)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Pool:
    """Concepts sampled with Zipf-like weights by rank (earlier = more frequent)."""

    concepts: tuple[Concept, ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def ranked(cls, concepts: Iterable[Concept], exponent: float = 1.0, offset: float = 8.0) -> Pool:
        items = tuple(concepts)
        if not items:
            raise ValueError("a Pool needs at least one concept")
        total, cum = 0.0, []
        for rank in range(len(items)):
            total += 1.0 / (rank + offset) ** exponent
            cum.append(total)
        return cls(items, tuple(cum))

    def draw(self, rng: random.Random) -> Concept:
        i = bisect_right(self.cum_weights, rng.random() * self.cum_weights[-1])
        return self.concepts[min(i, len(self.concepts) - 1)]

    def without(self, drop: Callable[[Concept], bool]) -> Pool:
        """The same ranking minus the dropped concepts (weights are recomputed from the remaining ranks)."""
        return Pool.ranked(c for c in self.concepts if not drop(c))

    def __len__(self) -> int:
        return len(self.concepts)


@dataclass(frozen=True)
class Lab:
    """One lab test: per-language name and unit, a value range and how to print it."""

    names: dict[str, str]
    units: dict[str, str]
    low: float
    high: float
    decimals: int
    factor: float  # multiply the nl value to get the ro/es unit


@dataclass
class LanguageLexicon:
    """Everything the note, corpus and task generators need for one language."""

    lang: str
    entities: dict[str, Pool]
    indicators: tuple[Concept, ...]
    phrases: dict[str, tuple[str, ...]]
    templates: dict[str, tuple[str, ...]]
    labs: tuple[Lab, ...]
    general_words: Pool
    heldout: frozenset[str]  # concepts (by first variant) that the NER task shows only in its test split
    sources: dict[str, int] = field(default_factory=dict)

    def indicator_stems(self) -> tuple[str, ...]:
        """Lower-cased stems that identify an indicator condition inside any longer term."""
        stems = set()
        for concept in self.indicators:
            for variant in concept:
                longest = max(variant.split(), key=len)
                stems.add(longest.lower()[:7])
        return tuple(sorted(stems))


# --- reading the packaged lexica ---
def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            f"the demo data generator needs the {name!r} package for its lexicon, but it is not installed; "
            f"install it with `pip install {name}` (it is a dependency of medadapt)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _read_lines(path: Path, package: str) -> list[str]:
    if not path.is_file():
        raise DependencyError(
            f"{path}: expected lexicon file of the {package!r} package is missing; reinstall it "
            f"(`pip install --force-reinstall {package}`)"
        )
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def _deduce_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(medical terms, eponyms) from deduce's data folder, without importing deduce."""
    base = _package_dir("deduce") / "data" / "lookup" / "src" / "whitelist"
    terms = _read_lines(base / "lst_medical_term" / "items.txt", "deduce")
    eponyms = _read_lines(base / "lst_eponymous_disease" / "items.txt", "deduce")
    return tuple(terms), tuple(eponyms)


def _clean_cie(description: str) -> str | None:
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", description).strip()
    text = re.sub(r"\s+", " ", text)
    if not text or any(ch in text for ch in ",:;/") or " y " in text or _CIE_SKIP_WORDS.search(text):
        return None
    if len(text.split()) > 4 or len(text) > 40 or any(ch.isdigit() for ch in text):
        return None
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


@cache
def _cie_terms() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(diseases, symptoms) in Spanish from the ICD-10 table shipped with `cie`."""
    path = _package_dir("cie") / "data" / "cie-10.zip"
    if not path.is_file():
        raise DependencyError(f"{path}: the 'cie' package has no ICD-10 table; reinstall it (`pip install cie`)")
    diseases: dict[str, None] = {}
    symptoms: dict[str, None] = {}
    with zipfile.ZipFile(path) as archive, archive.open("cie-10.csv") as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
            code = row["code"]
            if row["level"] not in ("2", "3") or code.startswith(_CIE_SKIP_CHAPTERS):
                continue
            term = _clean_cie(row["description"])
            if term:
                (symptoms if code.startswith("R") else diseases)[term] = None
    return tuple(diseases), tuple(symptoms)


def _seed_path(name: str) -> Path:
    return Path(__file__).resolve().parent / "lexicon" / name


def _read_tsv(name: str) -> list[list[str]]:
    """Rows of a seed TSV, without comments and the header line."""
    path = _seed_path(name)
    if not path.is_file():
        raise DependencyError(f"{path}: the demo seed lexicon is missing; reinstall medadapt")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return [line.split("\t") for line in lines[1:]]


# --- deriving forms across languages ---
def _respell(word: str, spelling: tuple[tuple[str, str], ...], suffixes: tuple[tuple[str, str], ...]) -> str:
    for old, new in spelling:
        word = word.replace(old, new)
    for old, new in suffixes:
        if word.endswith(old):
            return word[: -len(old)] + new
    return word


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _nl_typed() -> dict[str, list[str]]:
    terms, _ = _deduce_lists()
    typed: dict[str, list[str]] = {t: [] for t in _NL_SUFFIXES}
    for word in terms:
        if word in _NL_STOP or not word.isalpha() or not word.islower():
            continue
        for etype, suffixes in _NL_SUFFIXES.items():
            if word.endswith(suffixes):
                typed[etype].append(word)
                break
    return typed


def _qualified(word: str, lang: str, rng: random.Random) -> Concept:
    """An inflammation gets an acute/chronic variant, so packaged terms also yield multi-word entities."""
    if word.endswith(("itis", "ită")):
        return (word, rng.choice(_QUALIFIERS[lang]).format(word))
    return (word,)


def _dedupe(concepts: Iterable[Concept], seen: set[str]) -> list[Concept]:
    out = []
    for concept in concepts:
        key = concept[0].lower()
        if key not in seen:
            seen.add(key)
            out.append(concept)
    return out


def _packaged_concepts(lang: str) -> dict[str, list[Concept]]:
    """Packaged (and derived) concepts per entity type, in a fixed shuffled order."""
    rng = random.Random(f"medadapt-demo-lexicon-{lang}")  # fixed: the vocabulary does not depend on the seed
    nl = _nl_typed()
    _, eponyms = _deduce_lists()
    cie_diseases, cie_symptoms = _cie_terms()
    out: dict[str, list[str]] = {t: [] for t in ENTITY_TYPES}
    if lang == "nl":
        for etype, words in nl.items():
            out[etype] += words
    elif lang == "ro":
        for etype, suffixes in _DERIVABLE.items():
            derivable = [w for w in nl[etype] if w.endswith(suffixes)]
            out[etype] += [_respell(w, _NL_SPELLING_RO, _NL_SUFFIX_RO) for w in derivable]
        es_suffixes = tuple(old for old, _ in _ES_SUFFIX_RO)
        singles = [_strip_accents(t).lower() for t in cie_diseases if " " not in t]
        out["DISEASE"] += [_respell(w, _ES_SPELLING_RO, _ES_SUFFIX_RO) for w in singles if w.endswith(es_suffixes)]
    else:
        out["DISEASE"] += list(cie_diseases)
        out["SYMPTOM"] += list(cie_symptoms)
        for etype in ("DRUG", "PROCEDURE"):
            derivable = [w for w in nl[etype] if w.endswith(_DERIVABLE[etype])]
            out[etype] += [_respell(w, _NL_SPELLING_ES, _NL_SUFFIX_ES) for w in derivable]
    forms = _EPONYM_FORMS[lang]
    out["DISEASE"] += [forms[i % 2].format(name) for i, name in enumerate(eponyms)]
    concepts: dict[str, list[Concept]] = {}
    for etype, words in out.items():
        unique = sorted(set(words))
        rng.shuffle(unique)
        concepts[etype] = [_qualified(w, lang, rng) for w in unique]
    return concepts


# --- assembling one language ---
def _general_words(lang: str, medical: set[str]) -> Pool:
    try:
        import wordfreq
    except ImportError as exc:  # pragma: no cover - wordfreq is a dependency
        raise DependencyError("the demo generator needs `wordfreq` (`pip install wordfreq`)") from exc
    words = [w for w in wordfreq.top_n_list(lang, 6000) if w.isalpha() and w not in medical]
    if len(words) < 1000:
        raise DependencyError(f"wordfreq returned only {len(words)} words for {lang!r}; reinstall wordfreq")
    return Pool.ranked(((w,) for w in words[:4000]), exponent=1.0, offset=20.0)


def _medical_words(concepts: Iterable[Concept], extra: Iterable[str]) -> set[str]:
    """Single-word terms and long words inside multi-word terms (lower-cased): kept out of general text."""
    words = {w.lower() for w in extra}
    for concept in concepts:
        for variant in concept:
            tokens = re.findall(r"\w+", variant.lower())
            if len(tokens) == 1:
                words.add(tokens[0])
            words.update(t for t in tokens if len(t) >= 5)
    return words


def _split_variants(cell: str) -> Concept:
    return tuple(v.strip() for v in cell.split("|") if v.strip())


@cache
def load_lexicon(lang: str) -> LanguageLexicon:
    """Build (once per process) one language's vocabulary; DependencyError if a package lexicon is missing."""
    if lang not in LANGS:
        raise ValueError(f"unsupported demo language {lang!r}; expected one of {LANGS}")
    col = 1 + LANGS.index(lang)
    seed: dict[str, list[Concept]] = {t: [] for t in (*ENTITY_TYPES, "INDICATOR")}
    for row in _read_tsv("terms.tsv"):
        seed[row[0]].append(_split_variants(row[col]))
    packaged = _packaged_concepts(lang)
    entities: dict[str, Pool] = {}
    sources: dict[str, int] = {}
    heldout: set[str] = set()
    for etype in ENTITY_TYPES:
        seen: set[str] = set()
        ranked = _dedupe(seed[etype], seen)
        if etype == "DISEASE":  # indicator conditions are ordinary diseases outside the screening task
            ranked += _dedupe(seed["INDICATOR"], seen)
        n_seed = len(ranked)
        ranked += _dedupe(packaged[etype], seen)
        entities[etype] = Pool.ranked(ranked)
        sources[f"{etype.lower()}_seed"] = n_seed
        sources[f"{etype.lower()}_packaged"] = len(ranked) - n_seed
        # every 7th concept below the 25 most common is NER-test-only: unseen entities, as in real test sets
        heldout.update(c[0] for i, c in enumerate(ranked) if i >= 25 and i % 7 == 3)
    phrases = {row[0]: _split_variants(row[col]) for row in _read_tsv("phrases.tsv")}
    templates: dict[str, list[str]] = {}
    for kind, tlang, template in _read_tsv("templates.tsv"):
        if tlang == lang:
            templates.setdefault(kind, []).append(template)
    labs = tuple(
        Lab(
            names=dict(zip(LANGS, r[0:3], strict=True)),
            units={"nl": r[3], "ro": r[4], "es": r[4]},
            low=float(r[5]),
            high=float(r[6]),
            decimals=int(r[7]),
            factor=float(r[8]),
        )
        for r in _read_tsv("labs.tsv")
    )
    all_concepts = [c for pool in entities.values() for c in pool.concepts]
    extra = _deduce_lists()[0] if lang == "nl" else ()
    general = _general_words(lang, _medical_words(all_concepts, extra))
    sources["general_words"] = len(general)
    return LanguageLexicon(
        lang=lang,
        entities=entities,
        indicators=tuple(seed["INDICATOR"]),
        phrases=phrases,
        templates={k: tuple(v) for k, v in templates.items()},
        labs=labs,
        general_words=general,
        heldout=frozenset(heldout),
        sources=sources,
    )
