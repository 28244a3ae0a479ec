#!/usr/bin/env python3
"""md2scd.py HEAD MD TAIL: print an scdoc(5) page made of HEAD, the Markdown
file MD converted, and TAIL.  Made for docs/config.md, so that scepgw.yaml(5)
is the configuration reference itself and cannot drift from it: its title is
dropped, ## headings become sections, ### and deeper subsections, a table row
becomes an entry (the first cell in bold, the middle cells as "header: value",
the last cell indented below), list items and paragraphs are kept, code
blocks stay literal.  Inline: `code` and **bold** become bold, *emphasis*
underlined, [text](link) its text; everything else is escaped for scdoc.
tests/package/t_man_keys.sh checks, independently of this parser, that the
rendered page names every key of the reference."""
import re
import sys

INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\(([^)]+)\)")


def esc(s):
    return s.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def inline(s):
    out, pos = [], 0
    for m in INLINE.finditer(s):
        out.append(esc(s[pos:m.start()]))
        code, bold, em, text = m.group(1), m.group(2), m.group(3), m.group(4)
        if code is not None:
            out.append("*" + esc(code) + "*")
        elif bold is not None:
            out.append("*" + inline(bold).replace("*", "") + "*")
        elif em is not None:
            out.append("_" + esc(em) + "_")
        else:
            out.append(inline(text))
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def cells(line):
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip().replace("\\|", "|") for p in parts]


def is_sep(line):
    return re.fullmatch(r"\s*\|(\s*:?-+:?\s*\|)+\s*", line) is not None


def blocks(lines):
    """Yield (kind, payload): heading, table, code, item, para, blank."""
    i, last_head = 0, None
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield "code", lines[i + 1:j]
            i = j + 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            yield "heading", (level, line[level:].strip())
            i += 1
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and is_sep(lines[i + 1]):
            head = last_head = cells(line)
            rows, j = [], i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            yield "table", (head, rows)
            i = j
        elif line.lstrip().startswith("|") and last_head is not None:
            # rows cut off from their table by a blank line: same columns
            rows, j = [], i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            yield "table", (last_head, rows)
            i = j
        elif not line.strip():
            yield "blank", None
            i += 1
        else:
            m = re.match(r"(\s*)(- |\d+\. )", line)
            text, j = [line.strip()], i + 1
            while j < len(lines) and lines[j].strip() and not lines[j].startswith(("#", "```")) \
                    and not lines[j].lstrip().startswith("|") \
                    and not re.match(r"\s*(- |\d+\. )", lines[j]):
                text.append(lines[j].strip())
                j += 1
            joined = " ".join(text)
            if m:
                yield "item", ("-" if m.group(2) == "- " else ".", joined[len(m.group(2)):])
            else:
                yield "para", joined
            i = j


def convert(lines):
    out, first = [], True
    for kind, p in blocks(lines):
        if kind == "heading":
            level, title = p
            if level == 1 and first:
                first = False
                continue
            title = inline(title).replace("*", "")
            out += ["", "# " + title.upper() if level <= 2 else "## " + title, ""]
        elif kind == "table":
            head, rows = p
            for r in rows:
                extra = ["%s: %s" % (h, v) for h, v in zip(head[1:-1], r[1:-1]) if v]
                term = "*" + inline(r[0]).replace("*", "") + "*"
                if extra:
                    term += " (" + inline("; ".join(extra)) + ")"
                out += [term, "\t" + inline(r[-1]) if len(r) > 1 else "", ""]
        elif kind == "code":
            out += ["```"] + ["\t" + c for c in p] + ["```", ""]
        elif kind == "item":
            out.append(p[0] + " " + inline(p[1]))
        elif kind == "para":
            out += [inline(p), ""]
        elif kind == "blank" and out and out[-1] != "":
            out.append("")
    return out


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: md2scd.py HEAD MD TAIL\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.write(f.read())
    with open(sys.argv[2], encoding="utf-8") as f:
        body = convert(f.read().splitlines())
    # scdoc wants no run of blank lines and no trailing blank before the tail
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip("\n")
    sys.stdout.write(text + "\n")
    with open(sys.argv[3], encoding="utf-8") as f:
        sys.stdout.write(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
