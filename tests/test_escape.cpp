// Text into JSON and SVG: json_string and xml_escape (typenet/train/escape.hpp), and the places
// that use them (the SVG charts, config.json). The expected strings are spelled out here, not
// computed with the functions under test.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "config.hpp"  // src/cli
#include "typenet/train/escape.hpp"
#include "typenet/train/report.hpp"

using namespace typenet::train;

namespace {
const std::string fffd = "\xEF\xBF\xBD";                     // U+FFFD, the replacement character
const std::string utf8 = "\xC2\xB5 \xE2\x80\x94 \xF0\x9F\x99\x82 \xE6\x97\xA5";  // µ — 🙂 日

// Every & in an XML document starts an entity or character reference, and every < starts a
// tag or a closing tag (a crude check; tests/cli/cli_case.sh escape parses the tools' SVGs with
// a real XML parser).
bool ampersands_and_brackets_escaped(const std::string& svg) {
    for (std::size_t i = svg.find('&'); i != std::string::npos; i = svg.find('&', i + 1)) {
        bool ok = false;
        for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"})
            ok = ok || svg.compare(i, std::string(e).size(), e) == 0;
        if (!ok) return false;
    }
    for (std::size_t i = svg.find('<'); i != std::string::npos; i = svg.find('<', i + 1)) {
        const char c = i + 1 < svg.size() ? svg[i + 1] : ' ';
        if (!((c >= 'a' && c <= 'z') || c == '/')) return false;
    }
    return true;
}

std::vector<epoch_metrics> two_epochs() {
    epoch_metrics a, b;
    a.epoch = 1, a.train_loss = 2.0, a.test_loss = 1.9, a.train_accuracy = 0.2, a.test_accuracy = 0.3;
    b.epoch = 2, b.train_loss = 1.5, b.test_loss = 1.4, b.train_accuracy = 0.4, b.test_accuracy = 0.45;
    return {a, b};
}
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

TEST_CASE("SVG charts: titles, labels and the swept value's name are escaped") {
    const std::string title = "BN & <no BN> \"q\" 'a', b\n" + utf8;
    const std::string escaped = "BN &amp; &lt;no BN&gt; &quot;q&quot; &apos;a&apos;, b&#10;" + utf8;
    const auto rows = two_epochs();

    const std::string overlay = overlay_svg({{"a&b", rows}, {"<c>", rows}}, title);
    CHECK(overlay.find("<title>" + escaped + "</title>") != std::string::npos);
    CHECK(overlay.find(">" + escaped + ": loss</text>") != std::string::npos);
    CHECK(overlay.find(">a&amp;b train</text>") != std::string::npos);
    CHECK(overlay.find(">&lt;c&gt; test</text>") != std::string::npos);
    CHECK(ampersands_and_brackets_escaped(overlay));

    const std::string curves = curves_svg(rows, title);
    CHECK(curves.find("<title>" + escaped + "</title>") != std::string::npos);
    CHECK(ampersands_and_brackets_escaped(curves));

    const std::string sweep = sweep_svg({{"x<y", 0.1, rows}, {"x<y", 1.0, rows}}, title, "lr & <wd>", true);
    CHECK(sweep.find(">lr &amp; &lt;wd&gt; (log scale)</text>") != std::string::npos);
    CHECK(sweep.find(">x&lt;y</text>") != std::string::npos);
    CHECK(ampersands_and_brackets_escaped(sweep));
}

TEST_CASE("config.json: text values are JSON strings, numbers stay numbers") {
    train_config c = recipe("baseline");
    // (std::string(...): g++ 12 warns falsely, -Wrestrict, on assigning a 1-character literal)
    c.model = std::string("-");  // made of a number's characters, but no number
    c.init = std::string("1e");
    c.recipe = std::string("a \"b\" <c>");
    const std::string j = c.to_json();
    CHECK(j.find("\"model\": \"-\",") != std::string::npos);
    CHECK(j.find("\"init\": \"1e\",") != std::string::npos);
    CHECK(j.find("\"recipe\": \"a \\\"b\\\" <c>\",") != std::string::npos);
    CHECK(j.find("\"lr\": 0.1,") != std::string::npos);
    CHECK(j.find("\"weight_decay\": 0.0,") != std::string::npos);
    CHECK(j.find("\"nesterov\": false,") != std::string::npos);
    c.optimizer.weight_decay = 1e-5;
    CHECK(c.to_json().find("\"weight_decay\": 1e-05,") != std::string::npos);
}
