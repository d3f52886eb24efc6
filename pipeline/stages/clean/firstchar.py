"""Which ASCII characters a regular expression's match can start with, read from Python's
own parse of the pattern: a big alternation of whole-line cues, tried with `match`, need
only try the alternatives that can start with the line's first character.

The sets are conservative (a character is left out only where no match can start with it),
so a bucketed alternation finds exactly what the whole one finds.
"""

from __future__ import annotations

import re
from functools import cache

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

ASCII = frozenset(chr(i) for i in range(128))
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}
_ZERO_WIDTH = {_c.AT, _c.ASSERT, _c.ASSERT_NOT}  # anchors and lookarounds only narrow a match


def _category(category, char: str) -> bool:
    if category in (_c.CATEGORY_DIGIT, _c.CATEGORY_UNI_DIGIT):
        return char.isdigit()
    if category in (_c.CATEGORY_NOT_DIGIT, _c.CATEGORY_UNI_NOT_DIGIT):
        return not char.isdigit()
    if category in (_c.CATEGORY_SPACE, _c.CATEGORY_UNI_SPACE):
        return char.isspace()
    if category in (_c.CATEGORY_NOT_SPACE, _c.CATEGORY_UNI_NOT_SPACE):
        return not char.isspace()
    if category in (_c.CATEGORY_WORD, _c.CATEGORY_UNI_WORD):
        return char.isalnum() or char == "_"
    if category in (_c.CATEGORY_NOT_WORD, _c.CATEGORY_UNI_NOT_WORD):
        return not (char.isalnum() or char == "_")
    return True  # anything else: assume it may match


def _forms(char: str, ignore_case: bool) -> set[str]:
    return {char, char.lower(), char.upper()} if ignore_case else {char}


@cache
def _literal(code: int, ignore_case: bool) -> frozenset[str]:
    target = chr(code)
    if not ignore_case:
        return frozenset({target}) & ASCII
    return frozenset(c for c in ASCII if c.lower() == target.lower() or c.upper() == target.upper())


def _in(items, ignore_case: bool) -> frozenset[str]:
    negate = bool(items) and items[0][0] == _c.NEGATE
    found = set()
    for char in ASCII:
        hit = False
        for op, av in items:
            if op == _c.LITERAL:
                hit = char in _literal(av, ignore_case)
            elif op == _c.RANGE:
                low, high = av
                if ignore_case and high > 127:
                    hit = True  # a range reaching past ASCII may hold a case form of any letter
                else:
                    hit = any(low <= ord(form) <= high for form in _forms(char, ignore_case))
            elif op == _c.CATEGORY:
                hit = _category(av, char)
            elif op == _c.NEGATE:
                continue
            else:
                hit = True
            if hit:
                break
        if hit != negate or (negate and ignore_case):
            found.add(char)  # a negated class under IGNORECASE: kept whole, to be safe
    return frozenset(found)


def _first(items, ignore_case: bool) -> tuple[frozenset[str], bool]:
    """(ASCII characters a match of this sequence can start with, whether it can match empty)."""
    found: set[str] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if op == _c.LITERAL:
            return frozenset(found | _literal(av, ignore_case)), False
        if op == _c.IN:
            return frozenset(found | _in(av, ignore_case)), False
        if op in (_c.NOT_LITERAL, _c.ANY):
            return ASCII, False
        if op == _c.SUBPATTERN:
            add, remove = av[1], av[2]
            case = (ignore_case or bool(add & re.IGNORECASE)) and not (remove & re.IGNORECASE)
            first, empty = _first(av[3], case)
        elif op == _c.BRANCH:
            first, empty = frozenset(), False
            for branch in av[1]:
                branch_first, branch_empty = _first(branch, ignore_case)
                first, empty = first | branch_first, empty or branch_empty
        elif op in _REPEATS:
            low, _, body = av
            first, empty = _first(body, ignore_case)
            empty = empty or low == 0
        elif op == getattr(_c, "ATOMIC_GROUP", None):
            first, empty = _first(av, ignore_case)
        else:  # group references, conditionals: anything
            return ASCII, False
        found |= first
        if not empty:
            return frozenset(found), False
    return frozenset(found), True


@cache
def _parsed(pattern: str, flags: int) -> list:
    """A pattern's parse (its top-level items), read by both analyses below."""
    return list(_p.parse(pattern, flags))


@cache
def first_ascii(pattern: str, flags: int = re.IGNORECASE) -> frozenset[str]:
    """The ASCII characters a match of `pattern` (tried with `match`) can start with; every
    ASCII character where the pattern can match the empty string."""
    first, empty = _first(_parsed(pattern, flags), bool(flags & re.IGNORECASE))
    return ASCII if empty else first


def _uncased_set(op, av) -> frozenset[str] | None:
    """The characters of a literal or a plain class when none of them has a case (symbols,
    punctuation): matched the same way with or without IGNORECASE."""
    if op == _c.LITERAL:
        chars = [chr(av)]
    elif op == _c.IN and all(item_op == _c.LITERAL for item_op, _ in av):
        chars = [chr(item_av) for _, item_av in av]
    else:
        return None
    return frozenset(chars) if all(c.lower() == c.upper() == c for c in chars) else None


def _required(items) -> frozenset[str] | None:
    """A set of characters every match of this sequence contains one of (the smallest found),
    or None."""
    best = None
    for op, av in items:
        found = _uncased_set(op, av)
        if found is None and op == _c.SUBPATTERN:
            found = _required(av[3])
        elif found is None and op in _REPEATS and av[0] >= 1:
            found = _required(av[2])
        elif found is None and op == _c.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            found = None if any(b is None for b in branches) else frozenset().union(*branches)
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return best


@cache
def required_chars(pattern: str, flags: int = re.IGNORECASE) -> frozenset[str] | None:
    """Characters without case one of which every match of `pattern` contains, or None."""
    return _required(_parsed(pattern, flags))


# A head of plain text: letters, digits, spaces and a few marks that are literal outside a
# class; its parse is one literal a character, so it needs none.
_PLAIN_HEAD = re.compile(r"[^\W_]+(?:[ '’,:-]+[^\W_]+)*")


def _plain_required(head: str) -> frozenset[str] | None:
    """_required of a plain head: its first character without case (each literal is a set of
    one, and a later one is never smaller), or None where every character has case."""
    for char in head:
        if char.lower() == char.upper() == char:
            return frozenset({char})
    return None


def piece_first_ascii(head: str, rest: str, flags: int = re.IGNORECASE) -> frozenset[str]:
    """first_ascii of the piece `(?:head)rest`, read from the head alone where it cannot
    match empty (then every match starts in it): a cue's rest is read once, not per piece."""
    if not rest:
        return first_ascii(head, flags)
    if _PLAIN_HEAD.fullmatch(head):  # starts with its first character, whatever follows
        return _literal(ord(head[0]), bool(flags & re.IGNORECASE))
    first, empty = _first(_parsed(head, flags), bool(flags & re.IGNORECASE))
    return first if not empty else first_ascii(f"(?:{head}){rest}", flags)


def piece_required_chars(head: str, rest: str, flags: int = re.IGNORECASE) -> frozenset[str] | None:
    """required_chars of the piece `(?:head)rest` from the head's and the rest's own: the
    smallest set, the head's where they are as small (the order _required reads them in)."""
    if not rest:
        return required_chars(head, flags)
    in_head = _plain_required(head) if _PLAIN_HEAD.fullmatch(head) else required_chars(head, flags)
    in_rest = required_chars(rest, flags)
    if in_head is None or in_rest is None:
        return in_rest if in_head is None else in_head
    return in_head if len(in_head) <= len(in_rest) else in_rest


# Only a piece that can start with more characters than this (a letter in either case) is
# gated by the symbols it requires.
GATED_STARTS = 2

# A combination of alternatives is compiled into one alternation once lines have asked for it
# this many times; before that, the patterns behind them are tried one by one (each compiled
# once, when first needed). Compiling a combination costs as much as trying its alternatives
# on some hundred lines, and a page asks for dozens of combinations: the first pages of a
# process would pay for all of them.
COMBINE_AFTER = 16


class FirstCharAlternation:
    """A named alternation split by first character: `match(text)` tries only the alternatives
    that can start with text's first character (all of them when it is not ASCII), and of
    those only the ones whose required characters (a breadcrumb's "›", a menu's "|") the
    text holds. The first alternative (in the given order) that matches gives the match, as
    in the whole alternation; its group named as the alternative's name holds the text.

    `cut` splits a pattern into the pieces its match tries in turn, as (head, rest) with
    the piece `(?:head)rest` (the branches of a leading group, each followed by the rest):
    each piece is bucketed by its own first character."""

    def __init__(self, patterns: list[tuple[str, str]], cut=None):
        # patterns: (group name, pattern), in the order the alternation tries them; a name's
        # patterns stand next to each other
        self.patterns = patterns
        # the alternatives: (index of their pattern, head, rest), in order
        self.pieces = [(k, head, rest) for k, (_, pattern) in enumerate(patterns)
                       for head, rest in (cut(pattern) if cut else [(pattern, "")])]
        everything = tuple(range(len(self.pieces)))
        starts = [piece_first_ascii(head, rest) for _, head, rest in self.pieces]
        by_char: dict[str, list[int]] = {char: [] for char in ASCII}
        for i, start in enumerate(starts):  # in order: each character's pieces come in the order given
            for char in start:
                by_char[char].append(i)
        self.by_char = {char: tuple(found) for char, found in by_char.items()}
        self.everything = everything
        # Required sets worth testing: a space is in nearly every line, so it gates nothing.
        # A piece that starts with one letter fails at once on most lines anyway: only pieces
        # that can start with many characters (a class, a construct) are worth a gate, and
        # fewer gates make fewer kinds of line, each compiled once.
        required = {i: r for i, (_, head, rest) in enumerate(self.pieces)
                    if len(starts[i]) > GATED_STARTS
                    and (r := piece_required_chars(head, rest)) is not None and " " not in r}
        self.gates = tuple(sorted(set(required.values()), key=sorted))  # distinct sets, each one test a line
        self.gated = {i: self.gates.index(r) for i, r in required.items()}
        # One scan finds which of the gates' characters a text holds; the gates held follow.
        gate_chars = "".join(re.escape(c) for c in sorted(set().union(*self.gates)))
        self._gate_chars = re.compile(f"[{gate_chars}]").findall if gate_chars else _nothing_found
        self._compiled: dict[tuple, object] = {}  # (first character, gate characters held) -> a matcher
        # for name(): the names in order, and per line kind the ungated and the gated pieces apart
        self._order = {name: i for i, name in enumerate(dict.fromkeys(name for name, _ in patterns))}
        self._named: dict[tuple, tuple] = {}
        self._by_choice: dict[tuple[int, ...], _Choice] = {}
        self._single: dict[int, object] = {}  # pattern -> its own compiled match

    def _compile(self, chosen: tuple[int, ...]) -> re.Pattern:
        """One alternation of the chosen pieces; the pieces of one pattern next to each other
        share their rest: `(?:home|news)$` (the same first match as `(?:home)$|(?:news)$`)."""
        groups: dict[str, list[str]] = {}  # one group a name, its pieces in order
        runs: list[tuple[int, str, list[str]]] = []  # (pattern, rest, heads)
        for i in chosen:
            k, head, rest = self.pieces[i]
            if runs and runs[-1][0] == k:
                runs[-1][2].append(head)
            else:
                runs.append((k, rest, [head]))
        for k, rest, heads in runs:
            body = heads[0] if len(heads) == 1 and not rest else "(?:" + "|".join(f"(?:{h})" for h in heads) + ")" + rest
            groups.setdefault(self.patterns[k][0], []).append(f"(?:{body})")
        body = "|".join(f"(?P<{name}>{'|'.join(parts)})" for name, parts in groups.items())
        return re.compile(body or r"(?!x)x", re.IGNORECASE)

    def _one(self, k: int):
        found = self._single.get(k)
        if found is None:
            name, pattern = self.patterns[k]
            found = self._single[k] = re.compile(f"(?P<{name}>(?:{pattern}))", re.IGNORECASE).match
        return found

    def _choose(self, first: str, chars: frozenset[str]) -> _Choice:
        held = tuple(not gate.isdisjoint(chars) for gate in self.gates)
        chosen = tuple(i for i in self.by_char.get(first, self.everything) if i not in self.gated or held[self.gated[i]])
        choice = self._by_choice.get(chosen)
        if choice is None:
            choice = self._by_choice[chosen] = _Choice(self, chosen)
        self._compiled[first, chars] = choice
        return choice

    def _choice(self, chosen: tuple[int, ...]) -> _Choice | None:
        if not chosen:
            return None
        choice = self._by_choice.get(chosen)
        if choice is None:
            choice = self._by_choice[chosen] = _Choice(self, chosen)
        return choice

    def _name_route(self, first: str, chars: frozenset[str]) -> tuple:
        held = tuple(not gate.isdisjoint(chars) for gate in self.gates)
        bucket = self.by_char.get(first, self.everything)
        ungated = self._choice(tuple(i for i in bucket if i not in self.gated))
        gated = self._choice(tuple(i for i in bucket if i in self.gated and held[self.gated[i]]))
        route = self._named[first, chars] = (ungated, gated)
        return route

    def name(self, text: str) -> str | None:
        """The name of the first alternative that matches (what match() finds), or None. The
        pieces without a gate and the gated ones are matched apart, the first name in order
        wins: the ungated pieces of a first character are one alternation whatever symbols a
        line holds, so fewer of them are compiled."""
        first = text[:1]
        if first not in self.by_char:
            first = ""
        found = self._gate_chars(text)
        chars = frozenset(found) if found else _NOTHING
        ungated, gated = self._named.get((first, chars)) or self._name_route(first, chars)
        found_ungated = ungated(text) if ungated is not None else None
        found_gated = gated(text) if gated is not None else None
        if found_gated is None:
            return found_ungated.lastgroup if found_ungated is not None else None
        if found_ungated is None:
            return found_gated.lastgroup
        one, other = found_ungated.lastgroup, found_gated.lastgroup
        return one if self._order[one] <= self._order[other] else other

    def match(self, text: str) -> re.Match | None:
        first = text[:1]
        if first not in self.by_char:
            first = ""
        found = self._gate_chars(text)
        chars = frozenset(found) if found else _NOTHING
        matcher = self._compiled.get((first, chars)) or self._choose(first, chars)
        return matcher(text)


_NOTHING: frozenset[str] = frozenset()


def _nothing_found(text: str) -> list[str]:
    return []


class _Choice:
    """The alternatives one kind of line may match: until lines have asked for them
    COMBINE_AFTER times, the patterns they come from are tried one by one (a piece left out
    cannot match the line, so a whole pattern finds what its chosen pieces find); then the
    pieces are compiled into one alternation."""

    __slots__ = ("owner", "chosen", "patterns", "uses", "combined")

    def __init__(self, owner: FirstCharAlternation, chosen: tuple[int, ...]):
        self.owner, self.chosen, self.uses, self.combined = owner, chosen, 0, None
        self.patterns = tuple(dict.fromkeys(owner.pieces[i][0] for i in chosen))

    def __call__(self, text: str) -> re.Match | None:
        if self.combined is not None:
            return self.combined(text)
        self.uses += 1
        if self.uses >= COMBINE_AFTER:
            combined = self.combined = self.owner._compile(self.chosen).match
            routes, named = self.owner._compiled, self.owner._named
            for key in [key for key, matcher in routes.items() if matcher is self]:
                routes[key] = combined  # later lines go straight to the alternation
            for key in [key for key, pair in named.items() if self in pair]:
                named[key] = tuple(combined if matcher is self else matcher for matcher in named[key])
            return combined(text)
        one = self.owner._one
        for k in self.patterns:
            found = one(k)(text)
            if found is not None:
                return found
        return None
