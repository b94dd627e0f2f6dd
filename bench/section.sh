# shellcheck shell=bash
# Sourced by bench/scoreboard.sh and bench/jpegquality.sh: each writes its
# own section of bench/RESULTS.md among the notes (which bench/run.sh keeps
# when it rewrites the table above them), between its own markers.

# write_section NAME BODY RESULTS TMPDIR replaces the lines between
# "<!-- NAME -->" and "<!-- /NAME -->" in RESULTS with BODY, or appends the
# section after the notes when it is not there yet.
write_section() {
	local name=$1 body=$2 results=$3 tmp=$4
	local start="<!-- $name -->" end="<!-- /$name -->"
	if [ -f "$results" ] && grep -qx "$start" "$results"; then
		# Without its end marker the rest of the file would be replaced.
		if ! grep -qx "$end" "$results"; then
			printf '%s has "%s" but no "%s"; not rewriting it\n' "$results" "$start" "$end" >&2
			return 1
		fi
		printf '%s\n' "$body" >"$tmp/section"
		awk -v s="$start" -v e="$end" -v f="$tmp/section" '
			$0 == s {print; while ((getline line < f) > 0) print line; skip = 1; next}
			$0 == e {skip = 0}
			!skip {print}' "$results" >"$tmp/results"
		cp "$tmp/results" "$results"
	else
		[ -f "$results" ] && grep -qx '<!-- notes -->' "$results" || printf '\n<!-- notes -->\n' >>"$results"
		printf '\n%s\n%s\n%s\n' "$start" "$body" "$end" >>"$results"
	fi
}
