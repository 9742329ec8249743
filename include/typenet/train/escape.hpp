// typenet/train/escape.hpp - text written into the tools' JSON and SVG (XML) output.
//
// Everything a user can choose (a chart's title, a run's label, a swept value's name, a model's
// name) and everything read from the machine (a CPU's name) goes through one of these on its way
// into a JSON or SVG file, so that the file parses whatever the text holds. Pure functions: no
// I/O, no process state.
//
// Both take UTF-8 and give UTF-8. Valid UTF-8 passes through unchanged ("µ", "—", an emoji), but
// for the characters each format must escape (below). A byte that is not part of a valid UTF-8
// sequence (Latin-1 text, a cut-off sequence, an encoded surrogate, an overlong form) becomes
// U+FFFD, one per byte: neither JSON nor XML may hold such bytes, and a path on Linux can.
//
// No CSV function: no user text reaches a CSV file (metrics.csv holds numbers only).
#pragma once

#include <string>

namespace typenet::train {

// s as a JSON string, with its quotes: " and \ escaped with a backslash, the control characters
// U+0000-U+001F as \u00XX (a tab as \u0009, a newline as \u000a), invalid UTF-8 as U+FFFD.
std::string json_string(const std::string& s);

// s as XML character data or an attribute value (either quote style), without quotes:
//   & < > " '  ->  &amp; &lt; &gt; &quot; &apos;
//   tab, LF, CR -> &#9; &#10; &#13;  (so a parser returns them as they were: it would turn them
//                  into spaces in an attribute value and CR LF into LF in text)
//   the other C0 controls (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F) and U+FFFE, U+FFFF
//                  -> U+FFFD: XML 1.0 allows them in no form, not even as &#1;
//   invalid UTF-8 -> U+FFFD (above)
std::string xml_escape(const std::string& s);

}  // namespace typenet::train
