#include "win/csr_der.h"

#include <cstdint>

namespace sg::win::der {
namespace {

// Tags.
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kBitString = 0x03;
constexpr uint8_t kOctetString = 0x04;
constexpr uint8_t kUtf8String = 0x0c;
constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kContext0 = 0xa0;  // [0] constructed
constexpr uint8_t kContext1 = 0xa1;  // [1] constructed

// Object identifiers, encoded (tag, length, value).
constexpr std::string_view kOidEcPublicKey{"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 9};
constexpr std::string_view kOidPrime256v1{"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10};
constexpr std::string_view kOidEcdsaSha256{"\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 10};
constexpr std::string_view kOidCommonName{"\x06\x03\x55\x04\x03", 5};

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxCommonName = 64;  // ub-common-name (RFC 5280)

std::string tlv(uint8_t tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else {
    std::string len;
    for (size_t v = n; v != 0; v >>= 8) len.insert(len.begin(), static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(0x80 | len.size()));
    out += len;
  }
  out.append(content);
  return out;
}

// A non-negative INTEGER from big-endian bytes: no leading zeros, a zero
// byte in front when the top bit is set.
std::string unsignedInteger(std::string_view bytes) {
  size_t skip = 0;
  while (skip + 1 < bytes.size() && bytes[skip] == 0) skip++;
  std::string value(bytes.substr(skip));
  if (value.empty()) value.push_back('\0');
  if ((static_cast<uint8_t>(value[0]) & 0x80) != 0) value.insert(value.begin(), '\0');
  return tlv(kInteger, value);
}

std::string bitString(std::string_view bytes) {
  std::string content(1, '\0');  // no unused bits
  content.append(bytes);
  return tlv(kBitString, content);
}

std::string p256AlgorithmId() {
  return tlv(kSequence, std::string(kOidEcPublicKey) + std::string(kOidPrime256v1));
}

Result<void> checkPoint(std::string_view point) {
  if (point.size() != kP256PointBytes || point[0] != '\x04') {
    return Error(Errc::kInvalidArgument, "a P-256 public key is 65 bytes, 0x04 || X || Y");
  }
  return Ok{};
}

// One TLV read from `in` at `pos`: its tag, where its content starts, and
// its length; DER only (definite lengths in at most 4 bytes), bounds checked.
struct Tlv {
  uint8_t tag = 0;
  size_t start = 0;  // of the whole TLV
  size_t content = 0;
  size_t length = 0;
  size_t end() const { return content + length; }
};

Result<Tlv> readTlv(std::string_view in, size_t pos, size_t limit) {
  Tlv t;
  t.start = pos;
  if (limit > in.size() || pos + 2 > limit) return Error(Errc::kInvalidArgument, "DER truncated");
  t.tag = static_cast<uint8_t>(in[pos]);
  const uint8_t first = static_cast<uint8_t>(in[pos + 1]);
  pos += 2;
  if (first < 0x80) {
    t.length = first;
  } else {
    const size_t count = first & 0x7f;
    if (count == 0 || count > 4 || pos + count > limit) {
      return Error(Errc::kInvalidArgument, "DER length malformed");
    }
    for (size_t i = 0; i < count; i++) t.length = (t.length << 8) | static_cast<uint8_t>(in[pos++]);
  }
  t.content = pos;
  if (t.length > limit - pos) return Error(Errc::kInvalidArgument, "DER length past the end");
  return t;
}

int base64Value(char c) {
  for (int i = 0; i < 64; i++)
    if (kBase64[i] == c) return i;
  return -1;
}

}  // namespace

Result<std::string> p256Spki(std::string_view point) {
  SG_TRY(checkPoint(point));
  return tlv(kSequence, p256AlgorithmId() + bitString(point));
}

Result<std::string> csrInfo(const std::string& common_name, std::string_view point) {
  if (common_name.empty() || common_name.size() > kMaxCommonName) {
    return Error(Errc::kInvalidArgument, "a CSR's common name has 1 to 64 bytes");
  }
  SG_READ(spki, p256Spki(point));
  const std::string attribute =
      tlv(kSequence, std::string(kOidCommonName) + tlv(kUtf8String, common_name));
  const std::string subject = tlv(kSequence, tlv(kSet, attribute));
  const std::string version = tlv(kInteger, std::string(1, '\0'));
  return tlv(kSequence, version + subject + *spki + tlv(kContext0, ""));
}

Result<std::string> ecdsaSignatureDer(std::string_view raw) {
  if (raw.size() != kP256SignatureBytes) {
    return Error(Errc::kInvalidArgument, "a P-256 signature is 64 bytes, r || s");
  }
  const size_t half = raw.size() / 2;
  return tlv(kSequence, unsignedInteger(raw.substr(0, half)) + unsignedInteger(raw.substr(half)));
}

Result<std::string> csr(std::string_view info, std::string_view raw_signature) {
  SG_READ(signature, ecdsaSignatureDer(raw_signature));
  return tlv(kSequence, std::string(info) + tlv(kSequence, std::string(kOidEcdsaSha256)) +
                            bitString(*signature));
}

Result<std::string> p256Pkcs8(std::string_view scalar, std::string_view point) {
  SG_TRY(checkPoint(point));
  if (scalar.size() != kP256ScalarBytes) {
    return Error(Errc::kInvalidArgument, "a P-256 private key is 32 bytes");
  }
  const std::string ec_private_key =
      tlv(kSequence, tlv(kInteger, std::string(1, '\x01')) + tlv(kOctetString, scalar) +
                         tlv(kContext1, bitString(point)));
  return tlv(kSequence, tlv(kInteger, std::string(1, '\0')) + p256AlgorithmId() +
                            tlv(kOctetString, ec_private_key));
}

Result<std::string> pkcs8P256Point(std::string_view in) {
  auto bad = [](const char* what) {
    return Error(Errc::kInvalidArgument, std::string("PKCS#8 key: ") + what);
  };
  SG_READ(info, readTlv(in, 0, in.size()));
  if (info->tag != kSequence) return bad("not a SEQUENCE");
  SG_READ(version, readTlv(in, info->content, info->end()));
  SG_READ(alg, readTlv(in, version->end(), info->end()));
  if (alg->tag != kSequence ||
      in.substr(alg->start, alg->end() - alg->start) != p256AlgorithmId()) {
    return bad("not an EC P-256 key");
  }
  SG_READ(octets, readTlv(in, alg->end(), info->end()));
  if (octets->tag != kOctetString) return bad("no privateKey");
  SG_READ(ec, readTlv(in, octets->content, octets->end()));
  if (ec->tag != kSequence) return bad("no ECPrivateKey");
  size_t pos = ec->content;
  while (pos < ec->end()) {
    SG_READ(field, readTlv(in, pos, ec->end()));
    if (field->tag == kContext1) {
      SG_READ(bits, readTlv(in, field->content, field->end()));
      if (bits->tag != kBitString || bits->length != kP256PointBytes + 1 ||
          in[bits->content] != 0) {
        return bad("a malformed publicKey");
      }
      std::string point(in.substr(bits->content + 1, kP256PointBytes));
      SG_TRY(checkPoint(point));
      return point;
    }
    pos = field->end();
  }
  return bad("no publicKey in the key");
}

std::string toPem(std::string_view der, const char* label) {
  std::string b64;
  size_t i = 0;
  for (; i + 2 < der.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(der[i]) << 16) |
                       (static_cast<uint8_t>(der[i + 1]) << 8) | static_cast<uint8_t>(der[i + 2]);
    for (int s = 18; s >= 0; s -= 6) b64.push_back(kBase64[(v >> s) & 0x3f]);
  }
  if (i < der.size()) {
    uint32_t v = static_cast<uint8_t>(der[i]) << 16;
    if (i + 1 < der.size()) v |= static_cast<uint8_t>(der[i + 1]) << 8;
    b64.push_back(kBase64[(v >> 18) & 0x3f]);
    b64.push_back(kBase64[(v >> 12) & 0x3f]);
    b64.push_back(i + 1 < der.size() ? kBase64[(v >> 6) & 0x3f] : '=');
    b64.push_back('=');
  }
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (size_t p = 0; p < b64.size(); p += 64) out += b64.substr(p, 64) + "\n";
  return out + "-----END " + label + "-----\n";
}

Result<std::string> fromPem(std::string_view pem, const char* label) {
  const std::string begin = std::string("-----BEGIN ") + label + "-----";
  const std::string end = std::string("-----END ") + label + "-----";
  const size_t b = pem.find(begin);
  const size_t e = b == std::string_view::npos ? b : pem.find(end, b + begin.size());
  if (e == std::string_view::npos) {
    return Error(Errc::kInvalidArgument, std::string("no PEM block '") + label + "'");
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : pem.substr(b + begin.size(), e - b - begin.size())) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') continue;
    if (c == '=') {
      pad++;
      continue;
    }
    const int v = base64Value(c);
    if (v < 0 || pad > 0) return Error(Errc::kInvalidArgument, "PEM: not base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2) return Error(Errc::kInvalidArgument, "PEM: not base64");
  return out;
}

Result<std::string> certSpki(std::string_view cert_der) {
  auto bad = [](const char* what) {
    return Error(Errc::kInvalidArgument, std::string("certificate: ") + what);
  };
  SG_READ(cert, readTlv(cert_der, 0, cert_der.size()));
  if (cert->tag != kSequence) return bad("not a SEQUENCE");
  SG_READ(tbs, readTlv(cert_der, cert->content, cert->end()));
  if (tbs->tag != kSequence) return bad("no tbsCertificate");
  size_t pos = tbs->content;
  // [0] version (optional), serialNumber, signature, issuer, validity,
  // subject, then subjectPublicKeyInfo.
  constexpr uint8_t kExpected[] = {kInteger, kSequence, kSequence, kSequence, kSequence};
  SG_READ(first, readTlv(cert_der, pos, tbs->end()));
  if (first->tag == kContext0) pos = first->end();
  for (uint8_t tag : kExpected) {
    SG_READ(field, readTlv(cert_der, pos, tbs->end()));
    if (field->tag != tag) return bad("unexpected field before the public key");
    pos = field->end();
  }
  SG_READ(spki, readTlv(cert_der, pos, tbs->end()));
  if (spki->tag != kSequence) return bad("no subjectPublicKeyInfo");
  return std::string(cert_der.substr(spki->start, spki->end() - spki->start));
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return out;
}

}  // namespace sg::win::der
