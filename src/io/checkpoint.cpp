#include "typenet/io/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <unistd.h>

static_assert(std::endian::native == std::endian::little,
              "typenet checkpoints store raw little-endian tensors; add byte swapping for this platform");

namespace typenet::io {

namespace fs = std::filesystem;

namespace {
constexpr std::array<unsigned char, 8> magic{'T', 'Y', 'P', 'E', 'N', 'E', 'T', 1};

std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}

class writer {
public:
    void u8(std::uint8_t v) { buf_.push_back(v); }
    void u32(std::uint32_t v) { raw(&v, 4); }
    void u64(std::uint64_t v) { raw(&v, 8); }
    void str(const std::string& s) {
        u32(std::uint32_t(s.size()));
        raw(s.data(), s.size());
    }
    void raw(const void* p, std::size_t n) {  // resize + memcpy: GCC 12 warns falsely on insert here
        const std::size_t at = buf_.size();
        buf_.resize(at + n);
        if (n) std::memcpy(buf_.data() + at, p, n);
    }
    std::vector<unsigned char>& bytes() { return buf_; }

private:
    std::vector<unsigned char> buf_;
};

class reader {
public:
    reader(const unsigned char* b, std::size_t end, const std::string& source) : b_(b), end_(end), source_(source) {}
    void need(std::uint64_t n, const char* what) {
        if (n > remaining())
            throw checkpoint_error(source_ + ": truncated: " + what + " needs " + std::to_string(n) +
                                   " bytes at offset " + std::to_string(pos_) + " but only " +
                                   std::to_string(remaining()) + " remain");
    }
    std::uint8_t u8(const char* what) {
        need(1, what);
        return b_[pos_++];
    }
    std::uint32_t u32(const char* what) {
        std::uint32_t v;
        raw(&v, 4, what);
        return v;
    }
    std::uint64_t u64(const char* what) {
        std::uint64_t v;
        raw(&v, 8, what);
        return v;
    }
    std::string str(const char* what) {
        const std::uint32_t n = u32(what);
        need(n, what);
        std::string s(reinterpret_cast<const char*>(b_ + pos_), n);
        pos_ += n;
        return s;
    }
    void raw(void* p, std::size_t n, const char* what) {
        need(n, what);
        if (n) std::memcpy(p, b_ + pos_, n);  // n == 0: p may be null (an empty vector's data())
        pos_ += n;
    }
    std::size_t pos() const { return pos_; }
    std::size_t remaining() const { return end_ - pos_; }

private:
    const unsigned char* b_;
    std::size_t end_, pos_ = 0;
    const std::string& source_;
};

// The product of dims times the element size, or nothing when it does not fit in 64 bits. A
// zero dim makes the product 0 whatever the others are.
std::optional<std::uint64_t> byte_count(const std::vector<std::uint64_t>& dims, std::uint64_t elem) {
    if (std::find(dims.begin(), dims.end(), std::uint64_t(0)) != dims.end()) return 0;
    std::uint64_t n = elem;
    for (auto d : dims)
        if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
    return n;
}

void fail_errno(const std::string& what) { throw checkpoint_error(what + ": " + std::strerror(errno)); }
}  // namespace

std::uint32_t crc32(const unsigned char* data, std::size_t n, std::uint32_t crc) {
    static const auto table = make_crc_table();
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

std::uint64_t fnv1a64(const std::string& s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string dims_text(const std::vector<std::uint64_t>& d) {
    std::string s;
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (i) s += 'x';
        s += std::to_string(d[i]);
    }
    return s.empty() ? "scalar" : s;
}

std::uint64_t tensor_record::element_count() const {
    const auto n = byte_count(dims, 1);
    if (!n) throw checkpoint_error("tensor '" + name + "': dims " + dims_text(dims) + " overflow a 64-bit element count");
    return *n;
}

const std::string* checkpoint::find_meta(const std::string& key) const {
    for (const auto& [k, v] : metadata)
        if (k == key) return &v;
    return nullptr;
}
const tensor_record* checkpoint::find_tensor(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

std::vector<unsigned char> encode_checkpoint(const checkpoint& ck) {
    writer w;
    w.raw(magic.data(), magic.size());
    w.u32(checkpoint_format_version);
    w.str(ck.network);
    w.u64(ck.structure_hash);
    w.u32(std::uint32_t(ck.metadata.size()));
    for (const auto& [k, v] : ck.metadata) {
        w.str(k);
        w.str(v);
    }
    w.u32(std::uint32_t(ck.tensors.size()));
    for (const auto& t : ck.tensors) {
        // Never write what read_checkpoint would refuse.
        if (t.dtype != 4 && t.dtype != 8)
            throw checkpoint_error("write_checkpoint: tensor '" + t.name + "' has element size " + std::to_string(t.dtype) +
                                   " (4 or 8)");
        if (t.dims.size() > 8)
            throw checkpoint_error("write_checkpoint: tensor '" + t.name + "' has rank " + std::to_string(t.dims.size()) +
                                   " (at most 8)");
        const auto need = byte_count(t.dims, t.dtype);
        if (!need || t.bytes.size() != *need)
            throw checkpoint_error("write_checkpoint: tensor '" + t.name + "' holds " + std::to_string(t.bytes.size()) +
                                   " bytes, its dims " + dims_text(t.dims) + " need " +
                                   (need ? std::to_string(*need) : std::string("more than 2^64")));
        w.str(t.name);
        w.u8(t.dtype);
        w.u32(std::uint32_t(t.dims.size()));
        for (auto d : t.dims) w.u64(d);
        w.raw(t.bytes.data(), t.bytes.size());
    }
    w.u32(crc32(w.bytes().data(), w.bytes().size()));
    return std::move(w.bytes());
}

void write_checkpoint(const fs::path& file, const checkpoint& ck) {
    const std::vector<unsigned char> bytes = encode_checkpoint(ck);
    const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path tmp = dir / (file.filename().string() + ".tmp-" + std::to_string(::getpid()));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail_errno("cannot create " + tmp.string());
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            errno = e;
            fail_errno("cannot write " + tmp.string());
        }
        done += std::size_t(n);
    }
    if (::fsync(fd) != 0) {
        const int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = e;
        fail_errno("cannot fsync " + tmp.string());
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        fail_errno("cannot close " + tmp.string());
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        errno = e;
        fail_errno("cannot rename " + tmp.string() + " to " + file.string());
    }
    // Make the rename itself durable.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

checkpoint read_checkpoint(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw checkpoint_error(file.string() + ": no such checkpoint file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw checkpoint_error(file.string() + ": cannot open for reading");
    std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_checkpoint(b, file.string());
}

checkpoint parse_checkpoint(std::span<const unsigned char> b, const std::string& source) {
    if (b.size() < magic.size() || !std::equal(magic.begin(), magic.end(), b.begin()))
        throw checkpoint_error(source + ": not a typenet checkpoint (wrong magic bytes)");
    if (b.size() < magic.size() + 4 + 4)
        throw checkpoint_error(source + ": truncated: " + std::to_string(b.size()) + " bytes");
    std::uint32_t version;
    std::memcpy(&version, b.data() + magic.size(), 4);
    if (version != checkpoint_format_version)
        throw checkpoint_error(source + ": checkpoint format version " + std::to_string(version) +
                               " is not supported (this typenet reads version " +
                               std::to_string(checkpoint_format_version) + ")");
    const std::size_t body = b.size() - 4;
    std::uint32_t stored;
    std::memcpy(&stored, b.data() + body, 4);
    const std::uint32_t actual = crc32(b.data(), body);

    // Parse first (a truncated file fails here with the part that is missing), then verify the
    // checksum (a flipped byte anywhere). Every size is checked against the bytes left before
    // anything is allocated for it: the checksum is no protection against a crafted file.
    reader r(b.data(), body, source);
    checkpoint ck;
    std::string parse_error;
    try {
        unsigned char m[8];
        r.raw(m, 8, "magic");
        r.u32("version");
        ck.network = r.str("network name");
        ck.structure_hash = r.u64("structure hash");
        const std::uint32_t nmeta = r.u32("metadata count");
        for (std::uint32_t i = 0; i < nmeta; ++i) {
            std::string k = r.str("metadata key");
            std::string v = r.str("metadata value");
            ck.metadata.emplace_back(std::move(k), std::move(v));
        }
        const std::uint32_t ntensors = r.u32("tensor count");
        for (std::uint32_t i = 0; i < ntensors; ++i) {
            tensor_record t;
            t.name = r.str("tensor name");
            const std::string which = source + ": tensor " + std::to_string(i) + " '" + t.name + "'";
            t.dtype = r.u8("tensor dtype");
            if (t.dtype != 4 && t.dtype != 8)
                throw checkpoint_error(which + " has unknown element size " + std::to_string(t.dtype) + " (4 or 8)");
            const std::uint32_t rank = r.u32("tensor rank");
            if (rank > 8) throw checkpoint_error(which + " has rank " + std::to_string(rank) + " (at most 8)");
            for (std::uint32_t k = 0; k < rank; ++k) t.dims.push_back(r.u64("tensor dims"));
            const auto nbytes = byte_count(t.dims, t.dtype);
            if (!nbytes)
                throw checkpoint_error(which + ": dims " + dims_text(t.dims) + " of " + std::to_string(t.dtype) +
                                       "-byte elements overflow a 64-bit byte count");
            if (*nbytes > r.remaining())
                throw checkpoint_error(which + ": dims " + dims_text(t.dims) + " of " + std::to_string(t.dtype) +
                                       "-byte elements need " + std::to_string(*nbytes) + " bytes at offset " +
                                       std::to_string(r.pos()) + " but only " + std::to_string(r.remaining()) +
                                       " remain (truncated or corrupt)");
            t.bytes.resize(std::size_t(*nbytes));
            r.raw(t.bytes.data(), t.bytes.size(), "tensor data");
            ck.tensors.push_back(std::move(t));
        }
        if (r.pos() != body)
            throw checkpoint_error(source + ": " + std::to_string(body - r.pos()) +
                                   " unexpected bytes after the last tensor");
    } catch (const checkpoint_error& e) {
        parse_error = e.what();
    }
    if (stored != actual) {
        std::string msg = source + ": checksum mismatch (stored " + std::to_string(stored) + ", computed " +
                          std::to_string(actual) + "): the file is corrupted or truncated";
        if (!parse_error.empty()) msg += "; " + parse_error;
        throw checkpoint_error(msg);
    }
    if (!parse_error.empty()) throw checkpoint_error(parse_error);
    return ck;
}

}  // namespace typenet::io
