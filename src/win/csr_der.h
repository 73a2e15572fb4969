// The DER the Windows agent's enrollment needs, built and read without
// OpenSSL (the Windows build has none): a PKCS#10 CSR for an EC P-256 key
// (RFC 2986; subject CN only, no attributes, signed ecdsa-with-SHA256), the
// key as PKCS#8 (RFC 5208 around RFC 5915's ECPrivateKey: what the Linux
// agent's agent.key holds), PEM in and out, and the SubjectPublicKeyInfo of
// a certificate (its SHA-256 is the CA pin, pki/pin.h). The key pair and the
// signature come from the caller (BCrypt on Windows; OpenSSL in the Linux
// test, which verifies the result with X509_REQ_verify). Plain C++.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace sg::win::der {

inline constexpr size_t kP256PointBytes = 65;   // 0x04 || X || Y
inline constexpr size_t kP256ScalarBytes = 32;  // the private scalar d
inline constexpr size_t kP256SignatureBytes = 64;

// SubjectPublicKeyInfo of an uncompressed P-256 point.
Result<std::string> p256Spki(std::string_view point);
// CertificationRequestInfo: version 0, subject CN=common_name, the key, no
// attributes. These bytes are what the signature covers.
Result<std::string> csrInfo(const std::string& common_name, std::string_view point);
// r || s (IEEE P1363, BCryptSignHash's form) as an ECDSA-Sig-Value.
Result<std::string> ecdsaSignatureDer(std::string_view raw);
// The CSR: the info, ecdsa-with-SHA256, the signature (raw r || s).
Result<std::string> csr(std::string_view info, std::string_view raw_signature);
// PKCS#8 PrivateKeyInfo of a P-256 key (the point is kept in the key too).
Result<std::string> p256Pkcs8(std::string_view scalar, std::string_view point);

// The public point a P-256 PKCS#8 key carries (RFC 5915's optional
// publicKey, which this file and OpenSSL write); an error when it has none.
Result<std::string> pkcs8P256Point(std::string_view pkcs8);

// PEM with 64-character lines, and back (the first block with that label).
std::string toPem(std::string_view der, const char* label);
Result<std::string> fromPem(std::string_view pem, const char* label);

// The SubjectPublicKeyInfo (whole TLV) of an X.509 certificate; fails
// closed on anything malformed (the console's reply is untrusted).
Result<std::string> certSpki(std::string_view cert_der);

// Lowercase hex of bytes.
std::string hex(std::string_view bytes);

}  // namespace sg::win::der
