// Text into JSON and SVG: json_string and xml_escape (typenet/train/escape.hpp). The expected
// strings are spelled out here, not computed with the functions under test.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "typenet/train/escape.hpp"

using namespace typenet::train;

namespace {
const std::string fffd = "\xEF\xBF\xBD";                     // U+FFFD, the replacement character
const std::string utf8 = "\xC2\xB5 \xE2\x80\x94 \xF0\x9F\x99\x82 \xE6\x97\xA5";  // µ — 🙂 日
}  // namespace

TEST_CASE("xml_escape: the five markup characters become the predefined entities") {
    CHECK(xml_escape("BN & <no BN>") == "BN &amp; &lt;no BN&gt;");
    CHECK(xml_escape("say \"hi\", it's") == "say &quot;hi&quot;, it&apos;s");
    CHECK(xml_escape("&amp;") == "&amp;amp;");  // text that looks escaped is escaped again
    CHECK(xml_escape("plain, text; 1 + 2 = 3") == "plain, text; 1 + 2 = 3");
    CHECK(xml_escape("") == "");
}

TEST_CASE("xml_escape: tab, LF and CR as character references, the other C0 controls as U+FFFD") {
    CHECK(xml_escape("a\tb\nc\rd") == "a&#9;b&#10;c&#13;d");
    CHECK(xml_escape(std::string("a\0b", 3)) == "a" + fffd + "b");
    CHECK(xml_escape("\x01\x08\x0B\x0C\x0E\x1F") == fffd + fffd + fffd + fffd + fffd + fffd);
    CHECK(xml_escape("\x7F") == "\x7F");  // DEL is an XML character
    // U+FFFE and U+FFFF are valid UTF-8 but no XML character
    CHECK(xml_escape("\xEF\xBF\xBE" "x\xEF\xBF\xBF") == fffd + "x" + fffd);
}

TEST_CASE("xml_escape and json_string: valid UTF-8 passes through unchanged") {
    CHECK(xml_escape(utf8) == utf8);
    CHECK(json_string(utf8) == "\"" + utf8 + "\"");
    CHECK(xml_escape("\xEF\xBF\xBD") == fffd);  // U+FFFD itself
    CHECK(xml_escape("\xF4\x8F\xBF\xBF") == "\xF4\x8F\xBF\xBF");  // U+10FFFF, the last code point
}

TEST_CASE("xml_escape and json_string: bytes that are not UTF-8 become U+FFFD, one per byte") {
    struct example {
        std::string in, out;
    };
    const std::vector<example> examples = {
        {"\xB5" "C", fffd + "C"},                   // Latin-1 micro sign
        {"x\xC3", "x" + fffd},                      // a sequence cut off at the end
        {"\xE2\x80" "x", fffd + fffd + "x"},        // cut off before another character
        {"\xC0\xAF", fffd + fffd},                  // overlong '/'
        {"\xE0\x80\xAF", fffd + fffd + fffd},       // overlong '/' in three bytes
        {"\xED\xA0\x80", fffd + fffd + fffd},       // an encoded surrogate (U+D800)
        {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
        {"\xFF\xFE", fffd + fffd},
        {"\x80", fffd},                             // a lone continuation byte
    };
    for (const auto& e : examples) {
        INFO("input bytes: " << e.in.size());
        CHECK(xml_escape(e.in) == e.out);
        CHECK(json_string(e.in) == "\"" + e.out + "\"");
    }
}

TEST_CASE("json_string: quotes, backslashes and control characters escaped, nothing else") {
    CHECK(json_string("BN & <no BN> 'x', y") == "\"BN & <no BN> 'x', y\"");
    CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_string("a,b\tc\nd\re") == "\"a,b\\u0009c\\u000ad\\u000de\"");
    CHECK(json_string(std::string("\0\x1F\x7F", 3)) == "\"\\u0000\\u001f\x7F\"");
    CHECK(json_string("") == "\"\"");
}
