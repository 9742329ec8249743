// NumPy .npy / .npz reading and encoding (io/npz.hpp). write_npz is in npz_write.cpp, so that
// the fuzz build (tests/fuzz/) links the parser without the file-writing helpers.
#include "typenet/io/npz.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <set>

#include "typenet/io/checkpoint.hpp"  // io::crc32

static_assert(std::endian::native == std::endian::little, "npz.cpp copies little-endian elements as they are");

namespace typenet::io {

namespace {

constexpr std::uint32_t sig_local = 0x04034b50, sig_central = 0x02014b50, sig_end = 0x06054b50,
                        sig_end64 = 0x06064b50, sig_locator64 = 0x07064b50;
constexpr std::size_t local_size = 30, central_size = 46, end_size = 22, end64_size = 56, locator64_size = 20;
constexpr unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

std::uint16_t u16(const unsigned char* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
std::uint32_t u32(const unsigned char* p) {
    return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint64_t u64(const unsigned char* p) { return std::uint64_t(u32(p)) | (std::uint64_t(u32(p + 4)) << 32); }

void put16(std::vector<unsigned char>& b, std::uint32_t v) {
    b.push_back(std::uint8_t(v));
    b.push_back(std::uint8_t(v >> 8));
}
void put32(std::vector<unsigned char>& b, std::uint32_t v) {
    put16(b, v & 0xffffu);
    put16(b, v >> 16);
}
void append(std::vector<unsigned char>& b, const void* p, std::size_t n) {  // resize + memcpy (GCC 12 warns on insert)
    const std::size_t at = b.size();
    b.resize(at + n);
    if (n) std::memcpy(b.data() + at, p, n);
}

// The product of the dims, or nothing when it overflows 64 bits (a zero dim gives 0).
std::optional<std::uint64_t> element_count(const std::vector<std::uint64_t>& shape) {
    if (std::find(shape.begin(), shape.end(), std::uint64_t(0)) != shape.end()) return 0;
    std::uint64_t n = 1;
    for (auto d : shape)
        if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
    return n;
}

// ---- the .npy header: a Python dict literal ------------------------------------------------------
class header_parser {
public:
    header_parser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

    struct result {
        std::string descr;
        bool fortran_order = false;
        std::vector<std::uint64_t> shape;
    };

    result parse() {
        result r;
        bool seen_descr = false, seen_order = false, seen_shape = false;
        expect('{');
        for (;;) {
            skip();
            if (peek() == '}') break;
            const std::string key = string_literal("a key");
            expect(':');
            if (key == "descr") {
                if (seen_descr) fail("'descr' appears twice");
                seen_descr = true;
                r.descr = string_literal("the value of 'descr'");
            } else if (key == "fortran_order") {
                if (seen_order) fail("'fortran_order' appears twice");
                seen_order = true;
                r.fortran_order = boolean();
            } else if (key == "shape") {
                if (seen_shape) fail("'shape' appears twice");
                seen_shape = true;
                r.shape = tuple();
            } else {
                fail("unknown key '" + key + "' (a .npy header has 'descr', 'fortran_order' and 'shape')");
            }
            skip();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
        }
        ++pos_;  // '}'
        // NumPy pads with spaces and ends the header with '\n'.
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
        if (pos_ + 1 != s_.size() || s_[pos_] != '\n') fail("the header does not end with spaces and a newline after '}'");
        if (!seen_descr || !seen_order || !seen_shape)
            fail(std::string("the header lacks ") + (!seen_descr ? "'descr'" : !seen_order ? "'fortran_order'" : "'shape'"));
        return r;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw npz_error(where_ + ": bad .npy header (" + what + ") at character " + std::to_string(pos_) + " of '" +
                        printable() + "'");
    }
    std::string printable() const {
        std::string out;
        for (char c : s_.substr(0, 120)) out += (c >= 32 && c < 127) ? c : '?';
        return s_.size() > 120 ? out + "..." : out;
    }
    void skip() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
    }
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void expect(char c) {
        skip();
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    std::string string_literal(const char* what) {
        skip();
        const char q = peek();
        if (q != '\'' && q != '"') fail(std::string("expected a quoted string as ") + what);
        const std::size_t end = s_.find(q, pos_ + 1);
        if (end == std::string_view::npos) fail("an unterminated string");
        std::string v(s_.substr(pos_ + 1, end - pos_ - 1));
        if (v.find('\\') != std::string::npos) fail("a string with an escape");
        pos_ = end + 1;
        return v;
    }
    bool boolean() {
        skip();
        if (s_.substr(pos_, 4) == "True") return pos_ += 4, true;
        if (s_.substr(pos_, 5) == "False") return pos_ += 5, false;
        fail("expected True or False as the value of 'fortran_order'");
    }
    std::uint64_t integer() {
        skip();
        if (peek() < '0' || peek() > '9') fail("expected a dimension (a non-negative integer)");
        std::uint64_t v = 0;
        while (peek() >= '0' && peek() <= '9') {
            if (__builtin_mul_overflow(v, std::uint64_t(10), &v) || __builtin_add_overflow(v, std::uint64_t(peek() - '0'), &v))
                fail("a dimension that overflows 64 bits");
            ++pos_;
        }
        if (peek() == 'L') ++pos_;  // Python 2's long suffix, which old NumPy wrote
        return v;
    }
    std::vector<std::uint64_t> tuple() {
        expect('(');
        std::vector<std::uint64_t> dims;
        skip();
        if (peek() == ')') return ++pos_, dims;
        for (;;) {
            if (dims.size() == 64) fail("more than 64 dimensions");
            dims.push_back(integer());
            skip();
            if (peek() == ')') {
                if (dims.size() == 1) fail("a one-element shape needs a trailing comma: (n,)");
                ++pos_;
                return dims;
            }
            if (peek() != ',') fail("expected ',' or ')' in the shape");
            ++pos_;
            skip();
            if (peek() == ')') return ++pos_, dims;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    const std::string& where_;
};

std::string npy_header(const std::vector<std::uint64_t>& shape) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
    // NumPy pads magic (6) + version (2) + length (2) + header + '\n' to a multiple of 64.
    const std::size_t total = 10 + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h += '\n';
    return h;
}

// ---- zip structures ------------------------------------------------------------------------------
struct entry {
    std::string name;
    std::uint16_t flags = 0, method = 0;
    std::uint32_t crc = 0;
    std::uint64_t csize = 0, usize = 0, offset = 0;
};

// The values of a zip64 extended-information field (header id 1) that `extra` holds for the
// fields that are saturated (0xFFFFFFFF) in the fixed header, in the order the format gives.
void apply_zip64(std::span<const unsigned char> extra, entry& e, bool usize_sat, bool csize_sat, bool offset_sat,
                 const std::string& where) {
    std::size_t p = 0;
    bool found = false;
    while (p + 4 <= extra.size()) {
        const std::uint16_t id = u16(&extra[p]), len = u16(&extra[p + 2]);
        if (len > extra.size() - p - 4) throw npz_error(where + ": an extra field runs past its header's end");
        if (id == 1 && !found) {
            found = true;
            std::size_t q = p + 4;
            const std::size_t end = q + len;
            const auto take = [&](std::uint64_t& v, bool wanted) {
                if (!wanted) return;
                if (end - q < 8) throw npz_error(where + ": its zip64 extra field is too short");
                v = u64(&extra[q]);
                q += 8;
            };
            take(e.usize, usize_sat);
            take(e.csize, csize_sat);
            take(e.offset, offset_sat);
        }
        p += 4 + std::size_t(len);
    }
    if ((usize_sat || csize_sat || offset_sat) && !found)
        throw npz_error(where + ": sizes marked as zip64 but no zip64 extra field");
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string shape_text(const std::vector<std::uint64_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ',';
    return s + ")";
}

const npy_array* npz_archive::find(const std::string& name) const {
    for (const auto& a : arrays)
        if (a.name == name) return &a;
    return nullptr;
}

std::vector<unsigned char> encode_npy(const npy_array& a) {
    const auto n = element_count(a.shape);
    if (!n || *n != a.values.size())
        throw npz_error("encode_npy: array '" + a.name + "' of shape " + shape_text(a.shape) + " holds " +
                        std::to_string(a.values.size()) + " values");
    const std::string h = npy_header(a.shape);
    std::vector<unsigned char> b;
    b.reserve(10 + h.size() + a.values.size() * 4);
    append(b, npy_magic, 6);
    b.push_back(1);
    b.push_back(0);
    put16(b, std::uint32_t(h.size()));  // at most a few hundred bytes: 64 dims of 20 digits
    append(b, h.data(), h.size());
    append(b, a.values.data(), a.values.size() * sizeof(float));
    return b;
}

std::vector<unsigned char> encode_npz(const std::vector<npy_array>& arrays) {
    std::vector<unsigned char> out, central;
    std::set<std::string> names;
    constexpr std::uint64_t limit = 0xFFFFFFFFu;
    for (const auto& a : arrays) {
        if (a.name.empty()) throw npz_error("encode_npz: an array without a name");
        if (!names.insert(a.name).second) throw npz_error("encode_npz: two arrays named '" + a.name + "'");
        const std::string file = a.name + ".npy";
        if (file.size() > 0xFFFF) throw npz_error("encode_npz: the name '" + a.name.substr(0, 40) + "...' is too long");
        const std::vector<unsigned char> data = encode_npy(a);
        const std::uint64_t offset = out.size();
        if (data.size() >= limit || offset + local_size + file.size() + data.size() >= limit)
            throw npz_error("encode_npz: the archive would exceed 4 GiB at array '" + a.name +
                            "' (this writer writes no zip64 records)");
        const std::uint32_t crc = crc32(data.data(), data.size());
        const auto header = [&](std::vector<unsigned char>& b, bool is_central) {
            put32(b, is_central ? sig_central : sig_local);
            if (is_central) put16(b, 20);  // made by: MS-DOS attributes, zip 2.0
            put16(b, 20);                  // needed: 2.0
            put16(b, 0);                   // flags
            put16(b, 0);                   // stored
            put16(b, 0);                   // time 00:00:00
            put16(b, 0x21);                // date 1980-01-01 (NumPy's zipfile writes the same)
            put32(b, crc);
            put32(b, std::uint32_t(data.size()));
            put32(b, std::uint32_t(data.size()));
            put16(b, std::uint32_t(file.size()));
            put16(b, 0);  // extra length
            if (is_central) {
                put16(b, 0);  // comment length
                put16(b, 0);  // disk
                put16(b, 0);  // internal attributes
                put32(b, 0x01800000u);  // external: a regular file, rw------- (as Python's zipfile)
                put32(b, std::uint32_t(offset));
            }
            append(b, file.data(), file.size());
        };
        header(out, false);
        append(out, data.data(), data.size());
        header(central, true);
    }
    if (arrays.size() > 0xFFFF) throw npz_error("encode_npz: more than 65535 arrays (this writer writes no zip64 records)");
    const std::uint64_t cd_offset = out.size();
    if (cd_offset + central.size() + end_size >= limit) throw npz_error("encode_npz: the archive would exceed 4 GiB");
    append(out, central.data(), central.size());
    put32(out, sig_end);
    put16(out, 0);
    put16(out, 0);
    put16(out, std::uint32_t(arrays.size()));
    put16(out, std::uint32_t(arrays.size()));
    put32(out, std::uint32_t(central.size()));
    put32(out, std::uint32_t(cd_offset));
    put16(out, 0);  // comment length
    return out;
}

npy_array parse_npy(std::span<const unsigned char> b, const std::string& source, const std::string& entry_name) {
    const std::string where = source + ": entry '" + entry_name + "'";
    if (b.size() < 8 || !std::equal(npy_magic, npy_magic + 6, b.begin()))
        throw npz_error(where + ": not a .npy array (no \\x93NUMPY magic)");
    const unsigned major = b[6], minor = b[7];
    std::size_t header_len = 0, start = 0;
    if (major == 1 && minor == 0) {
        if (b.size() < 10) throw npz_error(where + ": truncated .npy header (" + std::to_string(b.size()) + " bytes)");
        header_len = u16(&b[8]);
        start = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (b.size() < 12) throw npz_error(where + ": truncated .npy header (" + std::to_string(b.size()) + " bytes)");
        header_len = u32(&b[8]);
        start = 12;
    } else {
        throw npz_error(where + ": .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                        " is not supported (1.0, 2.0 or 3.0)");
    }
    if (header_len > b.size() - start)
        throw npz_error(where + ": truncated: the .npy header claims " + std::to_string(header_len) + " bytes, " +
                        std::to_string(b.size() - start) + " remain");
    const std::string_view text(reinterpret_cast<const char*>(b.data() + start), header_len);
    const auto h = header_parser(text, where).parse();
    int bytes = 0;
    if (h.descr == "<f4") bytes = 4;
    else if (h.descr == "<f8") bytes = 8;
    else if (h.descr == ">f4" || h.descr == ">f8")
        throw npz_error(where + ": big-endian elements ('" + h.descr + "'); save little-endian ('<f4') arrays");
    else
        throw npz_error(where + ": dtype '" + h.descr + "' is not supported (float32 '<f4' or float64 '<f8')");
    if (h.fortran_order)
        throw npz_error(where + ": fortran_order is True; save C-order arrays (numpy.ascontiguousarray)");
    const auto count = element_count(h.shape);
    std::uint64_t need = 0;
    if (!count || __builtin_mul_overflow(*count, std::uint64_t(bytes), &need))
        throw npz_error(where + ": shape " + shape_text(h.shape) + " overflows a 64-bit byte count");
    const std::size_t have = b.size() - start - header_len;
    if (need != have)
        throw npz_error(where + ": shape " + shape_text(h.shape) + " of '" + h.descr + "' needs " + std::to_string(need) +
                        " bytes of data, the entry holds " + std::to_string(have) +
                        (need > have ? " (truncated)" : " (data after the array)"));
    npy_array a;
    a.name = ends_with(entry_name, ".npy") ? entry_name.substr(0, entry_name.size() - 4) : entry_name;
    a.shape = h.shape;
    a.source_bytes = bytes;
    a.values.resize(std::size_t(*count));  // *count * bytes == have <= the input's size
    const unsigned char* data = b.data() + start + header_len;
    if (bytes == 4) {
        if (have) std::memcpy(a.values.data(), data, have);
    } else {
        for (std::size_t i = 0; i < a.values.size(); ++i) {
            double v;
            std::memcpy(&v, data + 8 * i, 8);
            if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
                throw npz_error(where + ": element " + std::to_string(i) + " (" + std::to_string(v) +
                                ") is beyond float32's range");
            a.values[i] = float(v);
        }
    }
    return a;
}

npz_archive parse_npz(std::span<const unsigned char> b, const std::string& source) {
    const std::size_t n = b.size();
    if (n >= 4 && u32(b.data()) != sig_local && u32(b.data()) != sig_end) {
        if (b[0] == 0x93 && n >= 6 && std::equal(npy_magic, npy_magic + 6, b.begin()))
            throw npz_error(source + ": a single .npy array, not an .npz archive (numpy.save writes .npy; use numpy.savez)");
        throw npz_error(source + ": not an .npz archive (no zip signature at its start)");
    }
    // The end-of-central-directory record: the last 22 bytes, or earlier when a comment follows.
    if (n < end_size) throw npz_error(source + ": truncated: " + std::to_string(n) + " bytes, too short for a zip archive");
    std::size_t eocd = std::string::npos;
    const std::size_t lowest = n - end_size > 0xFFFF ? n - end_size - 0xFFFF : 0;
    for (std::size_t p = n - end_size + 1; p-- > lowest;)
        if (u32(&b[p]) == sig_end && p + end_size + u16(&b[p + 20]) == n) {
            eocd = p;
            break;
        }
    if (eocd == std::string::npos)
        throw npz_error(source + ": no end-of-central-directory record (truncated, or not a zip archive)");
    const unsigned char* e = &b[eocd];
    std::uint64_t disk = u16(e + 4), cd_disk = u16(e + 6), entries_here = u16(e + 8), entries = u16(e + 10);
    std::uint64_t cd_size = u32(e + 12), cd_offset = u32(e + 16);
    std::size_t cd_end_limit = eocd;  // the central directory ends where the end records begin
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu || entries_here == 0xFFFF ||
        disk == 0xFFFF || cd_disk == 0xFFFF) {
        // zip64: a locator just before the record points to the zip64 end record.
        if (eocd < locator64_size || u32(&b[eocd - locator64_size]) != sig_locator64)
            throw npz_error(source + ": the end record asks for zip64 records but there is no zip64 locator");
        const unsigned char* l = &b[eocd - locator64_size];
        const std::uint64_t at = u64(l + 8);
        if (u32(l + 4) != 0 || u32(l + 16) != 1) throw npz_error(source + ": an archive spread over several disks");
        if (at > eocd - locator64_size || eocd - locator64_size - at < end64_size || u32(&b[at]) != sig_end64)
            throw npz_error(source + ": the zip64 end record is not where its locator says (" + std::to_string(at) + ")");
        const unsigned char* z = &b[at];
        disk = u32(z + 16);
        cd_disk = u32(z + 20);
        entries_here = u64(z + 24);
        entries = u64(z + 32);
        cd_size = u64(z + 40);
        cd_offset = u64(z + 48);
        cd_end_limit = std::size_t(at);
    }
    if (disk != 0 || cd_disk != 0 || entries_here != entries)
        throw npz_error(source + ": an archive spread over several disks");
    if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset)
        throw npz_error(source + ": truncated or corrupt: the central directory (" + std::to_string(cd_size) +
                        " bytes at offset " + std::to_string(cd_offset) + ") lies outside the file's " +
                        std::to_string(cd_end_limit) + " bytes before its end records");
    if (entries > cd_size / central_size)
        throw npz_error(source + ": the end record claims " + std::to_string(entries) + " entries, the central directory (" +
                        std::to_string(cd_size) + " bytes) has room for " + std::to_string(cd_size / central_size));

    // The central directory.
    std::vector<entry> list;
    std::set<std::string> names;
    std::size_t p = std::size_t(cd_offset);
    const std::size_t cd_end = std::size_t(cd_offset + cd_size);
    for (std::uint64_t i = 0; i < entries; ++i) {
        const std::string which = source + ": central directory entry " + std::to_string(i);
        if (cd_end - p < central_size || u32(&b[p]) != sig_central)
            throw npz_error(which + ": truncated or corrupt (no central header signature at offset " + std::to_string(p) + ")");
        const unsigned char* c = &b[p];
        entry en;
        en.flags = u16(c + 8);
        en.method = u16(c + 10);
        en.crc = u32(c + 16);
        en.csize = u32(c + 20);
        en.usize = u32(c + 24);
        const std::size_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
        const std::uint32_t disk_start = u16(c + 34);
        en.offset = u32(c + 42);
        if (name_len + extra_len + comment_len > cd_end - p - central_size)
            throw npz_error(which + ": its name and fields run past the central directory's end");
        en.name.assign(reinterpret_cast<const char*>(c + central_size), name_len);
        const std::string where = source + ": entry '" + en.name + "'";
        apply_zip64({c + central_size + name_len, extra_len}, en, en.usize == 0xFFFFFFFFu, en.csize == 0xFFFFFFFFu,
                    en.offset == 0xFFFFFFFFu, where);
        if (disk_start != 0 && disk_start != 0xFFFF) throw npz_error(where + ": on another disk");
        p += central_size + name_len + extra_len + comment_len;

        if (en.flags & 0x1) throw npz_error(where + ": encrypted");
        if (en.method != 0)
            throw npz_error(where + ": compressed (zip method " + std::to_string(en.method) +
                            "); typenet reads uncompressed archives only: save with numpy.savez, not numpy.savez_compressed");
        if (en.csize != en.usize)
            throw npz_error(where + ": stored, but its compressed size " + std::to_string(en.csize) +
                            " differs from its size " + std::to_string(en.usize));
        if (!ends_with(en.name, ".npy") || en.name.size() == 4)
            throw npz_error(where + ": not a NAME.npy array (an .npz archive holds only .npy files)");
        if (!names.insert(en.name).second) throw npz_error(where + ": appears twice in the archive");
        list.push_back(std::move(en));
    }
    if (p != cd_end)
        throw npz_error(source + ": " + std::to_string(cd_end - p) + " unexpected bytes at the end of the central directory");

    // Each entry's local header and data: inside the part before the central directory, and no
    // two overlapping (so the arrays together never hold more than the file's bytes), all
    // checked before any array is decoded.
    struct located {
        const entry* en;
        std::uint64_t start, data_at, end;
    };
    std::vector<located> spans;
    for (const auto& en : list) {
        const std::string where = source + ": entry '" + en.name + "'";
        if (en.offset > cd_offset || cd_offset - en.offset < local_size)
            throw npz_error(where + ": its local header (offset " + std::to_string(en.offset) +
                            ") lies outside the file's data area (truncated or corrupt)");
        const unsigned char* l = &b[std::size_t(en.offset)];
        if (u32(l) != sig_local)
            throw npz_error(where + ": no local header signature at offset " + std::to_string(en.offset));
        const std::size_t name_len = u16(l + 26), extra_len = u16(l + 28);
        const std::uint64_t data_at = en.offset + local_size + name_len + extra_len;
        if (data_at > cd_offset || en.csize > cd_offset - data_at)
            throw npz_error(where + ": truncated: its " + std::to_string(en.csize) + " bytes of data at offset " +
                            std::to_string(data_at) + " run past the start of the central directory (offset " +
                            std::to_string(cd_offset) + ")");
        if (std::string_view(reinterpret_cast<const char*>(l + local_size), name_len) != en.name)
            throw npz_error(where + ": its local header names another file");
        const std::uint16_t flags = u16(l + 6);
        if (u16(l + 8) != en.method || (flags & 0x1) != (en.flags & 0x1))
            throw npz_error(where + ": its local header disagrees with the central directory (method or flags)");
        if (!(flags & 0x8)) {  // no data descriptor: the local header carries the CRC and sizes too
            const std::uint32_t lcrc = u32(l + 14), lcsize = u32(l + 18), lusize = u32(l + 22);
            if (lcrc != en.crc || (lcsize != 0xFFFFFFFFu && lcsize != en.csize) || (lusize != 0xFFFFFFFFu && lusize != en.usize))
                throw npz_error(where + ": its local header disagrees with the central directory (CRC or sizes)");
        }
        spans.push_back({&en, en.offset, data_at, data_at + en.csize});
    }
    std::vector<located> sorted = spans;
    std::sort(sorted.begin(), sorted.end(), [](const located& x, const located& y) { return x.start < y.start; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i].start < sorted[i - 1].end)
            throw npz_error(source + ": entries '" + sorted[i - 1].en->name + "' and '" + sorted[i].en->name +
                            "' overlap (at offset " + std::to_string(sorted[i].start) + ")");
    npz_archive out;
    for (const auto& s : spans) {
        const std::span<const unsigned char> data = b.subspan(std::size_t(s.data_at), std::size_t(s.en->csize));
        const std::uint32_t crc = crc32(data.data(), data.size());
        if (crc != s.en->crc)
            throw npz_error(source + ": entry '" + s.en->name + "': CRC-32 mismatch (stored " + std::to_string(s.en->crc) +
                            ", computed " + std::to_string(crc) + "): the file is corrupted");
        out.arrays.push_back(parse_npy(data, source, s.en->name));
    }
    return out;
}

npz_archive read_npz(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) throw npz_error(file.string() + ": no such file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw npz_error(file.string() + ": cannot open for reading");
    std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw npz_error(file.string() + ": read error");
    return parse_npz(b, file.string());
}

}  // namespace typenet::io
