"""Replace the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a Markdown file
with stdin. Usage: python3 md_section.py FILE NAME < snippet.md"""

import pathlib
import re
import sys

path, name = pathlib.Path(sys.argv[1]), sys.argv[2]
text = path.read_text(encoding="utf-8")
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
snippet = sys.stdin.read().rstrip("\n")
pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
if not pattern.search(text):
    sys.exit(f"{path}: markers {begin} / {end} not found")
path.write_text(pattern.sub(lambda _: f"{begin}\n{snippet}\n{end}", text), encoding="utf-8")
