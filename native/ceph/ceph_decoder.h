// CephDecoder: reads Ceph's little-endian encoding from bytes that came off
// the wire or out of an object, and never past their end. Every read returns
// false once anything failed; the first failure is kept, with the byte
// offset it happened at, so that a decoder reads a whole record and checks
// once, and its error names where the bytes went wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "native/ceph/cls_encoding.h"

namespace mirror_snapshot {

class CephDecoder {
 public:
  // `base` is the offset of bytes[0] in whatever the caller reports
  // positions in (an object, an entry), for the error text.
  explicit CephDecoder(std::string_view bytes, uint64_t base = 0) : bytes_(bytes), base_(base) {}
  // The decoder keeps a view of its bytes: a temporary string would be gone
  // before the first read.
  explicit CephDecoder(std::string&& temporary, uint64_t base = 0) = delete;

  bool U8(uint8_t* v) { return Fixed(v, 1); }
  bool U32(uint32_t* v) { return Fixed(v, 4); }
  bool U64(uint64_t* v) { return Fixed(v, 8); }
  bool I32(int32_t* v) {
    uint32_t u = 0;
    if (!U32(&u)) return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u = 0;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool Bool(bool* v) {
    uint8_t u = 0;
    if (!U8(&u)) return false;
    *v = u != 0;
    return true;
  }

  // A std::string or a bufferlist: u32 length, then the bytes. The view
  // points into the decoder's input.
  bool Bytes(std::string_view* v) {
    uint32_t length = 0;
    if (!U32(&length)) return false;
    return Raw(length, v);
  }
  bool String(std::string* v) {
    std::string_view view;
    if (!Bytes(&view)) return false;
    v->assign(view);
    return true;
  }

  // The next `length` bytes as they are.
  bool Raw(uint64_t length, std::string_view* v) {
    if (!Need(length)) return false;
    *v = bytes_.substr(pos_, length);
    pos_ += length;
    return true;
  }

  // A versioned struct (ENCODE_START(version, compat)): u8 version, u8
  // compat, u32 length, then `length` bytes of payload. Fails if its compat
  // says a decoder of `known_version` cannot read it, or if the payload runs
  // past the input. On success `*body` reads the payload (fields a newer
  // encoder appended stay unread there) and this decoder goes on after it.
  bool Struct(uint8_t known_version, const char* what, uint8_t* version, CephDecoder* body) {
    uint8_t compat = 0;
    uint32_t length = 0;
    const uint64_t at = offset();
    if (!U8(version) || !U8(&compat) || !U32(&length)) return false;
    if (compat > known_version) {
      return Fail(at, std::string(what) + " needs a decoder of version " + std::to_string(compat) +
                          " (this one reads up to " + std::to_string(known_version) + ")");
    }
    std::string_view payload;
    if (!Raw(length, &payload)) return false;
    *body = CephDecoder(payload, at + 6);
    return true;
  }

  // Takes over the first failure of a decoder made from this one's bytes
  // (a Struct body), so that a caller checks one decoder only.
  bool Absorb(const CephDecoder& inner) {
    if (inner.ok()) return ok();
    if (ok()) error_ = inner.error_;
    return false;
  }

  bool Fail(uint64_t at, const std::string& what) {
    if (ok()) error_ = "at byte " + std::to_string(at) + ": " + what;
    return false;
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  uint64_t offset() const { return base_ + pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

 private:
  bool Need(uint64_t length) {
    if (!ok()) return false;
    if (length > remaining()) {
      return Fail(offset(), "truncated: " + std::to_string(length) + " bytes needed, " +
                                std::to_string(remaining()) + " left");
    }
    return true;
  }

  template <typename T>
  bool Fixed(T* v, int width) {
    if (!Need(width)) return false;
    *v = static_cast<T>(ReadLe(bytes_, pos_, width));
    pos_ += width;
    return true;
  }

  std::string_view bytes_;
  uint64_t base_ = 0;
  uint64_t pos_ = 0;
  std::string error_;
};

}  // namespace mirror_snapshot
