"""Parse pasted ``traceroute`` / ``tracert`` / ``mtr`` output into hops.

Formats read (detected from the text, no flag needed):

- Linux/BSD ``traceroute`` and ``traceroute -n`` (``" 4  name (1.2.3.4)  10.2 ms ..."``; several
  responders on one line are kept; ``!H``-style and ``[AS2914]`` annotations ignored);
- Windows ``tracert`` (``"  2     8 ms     7 ms  <1 ms  name [1.2.3.4]"``);
- ``mtr --report`` / ``--report-wide`` (``"  4.|-- name   0.0%  10  10.1  10.3  10.0 ..."``, with or
  without ``-b`` addresses and ``-z`` AS numbers);
- ``mtr --json`` (``report.hubs``) and ``mtr --csv`` (``Mtr_Version,...,Hop,Ip,...`` header).

The input is a user's paste: it is untrusted and bounded. :func:`parse_trace` never raises; text
longer than :data:`MAX_TRACE_CHARS` is refused with a message, hops past :data:`MAX_HOPS` are
dropped with a warning. RTTs are milliseconds as the tool printed them; a hop's ``rtt_ms`` is the
*best* (smallest) probe, the one least inflated by queueing and ICMP slow paths, which is the
figure a speed-of-light check needs.

Pure: no I/O, no network, no DNS (a hostname is read as printed; nothing is resolved).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

__all__ = ["MAX_HOPS", "MAX_TRACE_CHARS", "Hop", "Trace", "parse_trace"]

#: Longest paste read (characters): a 100-hop ``mtr --report-wide`` is ~15 KB.
MAX_TRACE_CHARS = 64 * 1024
#: Most hops kept (traceroute's own default maximum is 30, mtr's 30, tracert's 30).
MAX_HOPS = 100
#: Longest hostname kept (DNS allows 253 characters).
MAX_HOST_CHARS = 253

_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6 = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
_IP_RE = re.compile(rf"^(?:{_IPV4}|{_IPV6})$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_.])?$")
_NUM = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Hop:
    """One hop: its number (1 = the first router), the hostnames and addresses that answered
    (usually one; load balancing can give several), the best probe RTT in ms (NaN when nothing
    answered) and the loss in % (NaN when the tool does not say)."""

    number: int
    hosts: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    rtt_ms: float = math.nan
    loss_pct: float = math.nan

    @property
    def answered(self) -> bool:
        return bool(self.hosts or self.ips)

    @property
    def label(self) -> str:
        """The first hostname, else the first address, else ``*``."""
        return (self.hosts or self.ips or ("*",))[0]


@dataclass(frozen=True)
class Trace:
    """A parsed paste: ``fmt`` (``traceroute``, ``tracert``, ``mtr``, ``mtr-json``, ``mtr-csv``,
    or ``""`` when nothing was recognised), the destination as printed (``target``, its address
    ``target_ip``), the hops in order, ``problem`` (why nothing could be read; then ``hops`` is
    empty) and ``warnings`` (what was read only in part)."""

    fmt: str = ""
    target: str = ""
    target_ip: str = ""
    hops: tuple[Hop, ...] = ()
    problem: str = ""
    warnings: tuple[str, ...] = ()


def _is_ip(text: str) -> bool:
    return bool(_IP_RE.match(text))


def _host(text: str) -> str | None:
    """``text`` as a hostname (lower case), or None when it is not shaped like one."""
    text = text.strip().rstrip(".")
    if not text or len(text) > MAX_HOST_CHARS or _is_ip(text) or not _HOST_RE.match(text):
        return None
    if text.replace(".", "").isdigit():
        return None
    return text.lower()


def _best(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v) and 0 <= v < 1e6]
    return min(finite) if finite else math.nan


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


# -- Linux / BSD traceroute ----------------------------------------------------------------------

_TR_HEAD = re.compile(r"^\s*traceroute6?\s+to\s+(\S+)(?:\s+\(([^)]*)\))?", re.I)
_TR_HOP = re.compile(r"^\s*(\d{1,3})\s+(.*)$")
_TR_TOKEN = re.compile(
    rf"(?P<ms>{_NUM})\s*ms\b|(?P<star>\*)|(?P<paren>\(([^)\s]{{1,60}})\))|(?P<word>\S+)")


def _traceroute_hop(number: int, rest: str) -> Hop:
    hosts: list[str] = []
    ips: list[str] = []
    rtts: list[float] = []
    for m in _TR_TOKEN.finditer(rest):
        if m.group("ms"):
            rtts.append(float(m.group("ms")))
        elif m.group("paren"):
            inner = m.group("paren")[1:-1]
            if _is_ip(inner):
                ips.append(inner)
        elif m.group("word"):
            word = m.group("word")
            if word.startswith(("!", "[", "<")):  # !H, !N, [AS2914], <MPLS ...>
                continue
            if _is_ip(word):
                ips.append(word)
            else:
                name = _host(word)
                if name is not None and any(c.isalpha() for c in name):
                    hosts.append(name)
    return Hop(number, _dedupe(hosts), _dedupe(ips), _best(rtts))


# -- Windows tracert -----------------------------------------------------------------------------

_WIN_HEAD = re.compile(r"^\s*Tracing route to\s+(\S+)(?:\s+\[([^\]]*)\])?", re.I)
_WIN_HOP = re.compile(
    r"^\s*(\d{1,3})\s+((?:(?:<?\d+\s*ms|\*)\s+){3})(.*)$", re.I)


def _tracert_hop(number: int, probes: str, rest: str) -> Hop:
    rtts = [float(v.lstrip("<")) for v in re.findall(r"<?\d+(?=\s*ms)", probes)]
    rest = rest.strip()
    hosts: list[str] = []
    ips: list[str] = []
    m = re.match(r"^(\S+)\s+\[([^\]]+)\]", rest)
    if m:
        name = _host(m.group(1))
        if name:
            hosts.append(name)
        if _is_ip(m.group(2)):
            ips.append(m.group(2))
    elif _is_ip(rest.split(" ")[0] if rest else ""):
        ips.append(rest.split(" ")[0])
    elif rest and not rest.lower().startswith("request timed out"):
        name = _host(rest.split(" ")[0])
        if name:
            hosts.append(name)
    return Hop(number, tuple(hosts), tuple(ips), _best(rtts))


# -- mtr --report / --report-wide ----------------------------------------------------------------

_MTR_HEAD = re.compile(r"^\s*HOST:\s*\S*.*Loss%", re.I)
_MTR_HOP = re.compile(
    rf"^\s*(\d{{1,3}})\.\s*(?:\|--|\|-|`--)?\s*(?:AS(?:\d+|\?\?\?)\s+)?(\S+)(?:\s+\(([^)]*)\))?"
    rf"\s+({_NUM})%?\s+(\d+)\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})(?:\s+({_NUM}))?")
_MTR_CONT = re.compile(r"^\s*(?:\|\s*)?`?\|?\s*(?:-+\s*)?(\S+)\s*$")


def _mtr_host_ip(name: str, paren: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    hosts: list[str] = []
    ips: list[str] = []
    if name != "???":
        if _is_ip(name):
            ips.append(name)
        else:
            h = _host(name)
            if h:
                hosts.append(h)
    if paren and _is_ip(paren):
        ips.append(paren)
    return _dedupe(hosts), _dedupe(ips)


def _mtr_report(lines: list[str]) -> list[Hop]:
    hops: list[Hop] = []
    for line in lines:
        m = _MTR_HOP.match(line)
        if not m:
            continue
        number = int(m.group(1))
        hosts, ips = _mtr_host_ip(m.group(2), m.group(3))
        loss, sent = float(m.group(4)), int(m.group(5))
        best = float(m.group(8))
        answered = bool(hosts or ips) and loss < 100.0 and sent > 0
        hops.append(Hop(number, hosts, ips, best if answered else math.nan,
                        min(loss, 100.0)))
    return hops


# -- mtr --json / --csv --------------------------------------------------------------------------

def _num(value: object) -> float:
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return math.nan
    return math.nan


def _mtr_json(data: object) -> tuple[str, list[Hop]]:
    report = data.get("report") if isinstance(data, dict) else None
    if not isinstance(report, dict) or not isinstance(report.get("hubs"), list):
        raise ValueError("JSON without report.hubs: not the output of mtr --json")
    mtr = report.get("mtr") if isinstance(report.get("mtr"), dict) else {}
    target = mtr.get("dst", "") if isinstance(mtr.get("dst", ""), str) else ""
    hops = []
    for k, hub in enumerate(report["hubs"][:MAX_HOPS + 1]):
        if not isinstance(hub, dict):
            continue
        count = _num(hub.get("count", k + 1))
        number = int(count) if math.isfinite(count) and 0 < count < 1000 else k + 1
        raw = hub.get("host", "")
        name = raw.strip() if isinstance(raw, str) else ""
        m = re.match(r"^(?:AS(?:\d+|\?\?\?)\s+)?(\S+)(?:\s+\(([^)]*)\))?", name)
        hosts, ips = _mtr_host_ip(m.group(1), m.group(2)) if m else ((), ())
        loss = _num(hub.get("Loss%"))
        best = _num(hub.get("Best"))
        answered = bool(hosts or ips) and not (math.isfinite(loss) and loss >= 100.0)
        hops.append(Hop(number, hosts, ips, best if answered else math.nan, loss))
    return target[:MAX_HOST_CHARS], hops


def _split_csv(line: str) -> list[str]:
    return [f.strip().strip('"') for f in line.split(",")]


def _mtr_csv(lines: list[str]) -> tuple[str, list[Hop]]:
    header = [h.lower() for h in _split_csv(lines[0])]
    col = {name: i for i, name in enumerate(header)}
    if "hop" not in col or "ip" not in col:
        raise ValueError("CSV without Hop and Ip columns: not the output of mtr --csv")
    target = ""
    hops = []
    for line in lines[1:]:
        fields = _split_csv(line)
        if len(fields) <= max(col["hop"], col["ip"]) or not fields[col["hop"]].isdigit():
            continue
        number = int(fields[col["hop"]][:4])
        if "host" in col and len(fields) > col["host"]:
            target = fields[col["host"]][:MAX_HOST_CHARS]
        m = re.match(r"^(?:AS(?:\d+|\?\?\?)\s+)?(\S+)(?:\s+\(([^)]*)\))?", fields[col["ip"]])
        hosts, ips = _mtr_host_ip(m.group(1), m.group(2)) if m else ((), ())

        def field(name: str) -> float:
            i = col.get(name)
            return _num(fields[i]) if i is not None and i < len(fields) else math.nan
        loss, best = field("loss%"), field("best")
        answered = bool(hosts or ips) and not (math.isfinite(loss) and loss >= 100.0)
        hops.append(Hop(number, hosts, ips, best if answered else math.nan, loss))
    return target, hops


# -- the one entry point -------------------------------------------------------------------------

def _finish(fmt: str, target: str, target_ip: str, hops: list[Hop],
            warnings: list[str]) -> Trace:
    if not hops:
        return Trace(fmt, target, target_ip, (),
                     f"no hop lines found in this {fmt} output", tuple(warnings))
    if len(hops) > MAX_HOPS:
        warnings.append(f"only the first {MAX_HOPS} hops were read ({len(hops)} in the paste)")
        hops = hops[:MAX_HOPS]
    if target_ip and not _is_ip(target_ip):
        target_ip = ""
    if not target_ip and _is_ip(target):
        target_ip = target
    return Trace(fmt, target[:MAX_HOST_CHARS], target_ip, tuple(hops), "", tuple(warnings))


def parse_trace(text: object) -> Trace:
    """Parse one pasted trace (module docstring). Never raises: what cannot be read is said in
    ``Trace.problem`` (nothing read) or ``Trace.warnings`` (read in part)."""
    if not isinstance(text, str) or not text.strip():
        return Trace(problem="paste the output of traceroute, tracert or mtr")
    if len(text) > MAX_TRACE_CHARS:
        return Trace(problem=f"the paste is {len(text):,} characters, over the "
                             f"{MAX_TRACE_CHARS:,}-character limit: paste one trace")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    stripped = text.strip()
    warnings: list[str] = []
    try:
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except (ValueError, RecursionError):
                return Trace(problem="the paste starts like JSON but is not valid JSON "
                                     "(mtr --json output is expected)")
            target, hops = _mtr_json(data)
            return _finish("mtr-json", target, "", hops, warnings)
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if lines and lines[0].lower().startswith("mtr_version"):
            target, hops = _mtr_csv(lines)
            return _finish("mtr-csv", target, "", hops, warnings)
        if any(_MTR_HEAD.match(ln) for ln in lines[:10]) or any(
                "|--" in ln for ln in lines[:MAX_HOPS + 10]):
            return _finish("mtr", "", "", _mtr_report(lines), warnings)
        for i, line in enumerate(lines):
            m = _WIN_HEAD.match(line)
            if m:
                hops = []
                for ln in lines[i + 1:]:
                    h = _WIN_HOP.match(ln)
                    if h:
                        hops.append(_tracert_hop(int(h.group(1)), h.group(2), h.group(3)))
                return _finish("tracert", m.group(1), m.group(2) or "", hops, warnings)
        target = target_ip = ""
        hops = []
        for line in lines:
            head = _TR_HEAD.match(line)
            if head:
                target, target_ip = head.group(1), head.group(2) or ""
                continue
            if _WIN_HOP.match(line):  # tracert lines without their header
                h = _WIN_HOP.match(line)
                hops.append(_tracert_hop(int(h.group(1)), h.group(2), h.group(3)))
                continue
            m = _TR_HOP.match(line)
            if m:
                number = int(m.group(1))
                if hops and hops[-1].number == number:  # a continuation (a 2nd responder)
                    more = _traceroute_hop(number, m.group(2))
                    prev = hops[-1]
                    hops[-1] = Hop(number, _dedupe([*prev.hosts, *more.hosts]),
                                   _dedupe([*prev.ips, *more.ips]),
                                   _best([prev.rtt_ms, more.rtt_ms]))
                else:
                    hops.append(_traceroute_hop(number, m.group(2)))
            elif hops and line.startswith((" ", "\t")) and "ms" in line:
                prev = hops[-1]  # BSD: another responder on its own indented line
                more = _traceroute_hop(prev.number, line)
                hops[-1] = Hop(prev.number, _dedupe([*prev.hosts, *more.hosts]),
                               _dedupe([*prev.ips, *more.ips]), _best([prev.rtt_ms, more.rtt_ms]))
        if not hops:
            return Trace(problem="no traceroute, tracert or mtr hop lines found: paste the "
                                 "tool's output as printed (e.g. mtr --report)")
        return _finish("traceroute", target, target_ip, hops, warnings)
    except ValueError as exc:
        return Trace(problem=str(exc)[:200])
