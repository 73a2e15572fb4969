// Shared by the service's unit tests: a console over SQLite in a temporary
// directory, a fake monotonic clock and a wall clock that moves with it, an
// in-memory CA, agents enrolled through the real enrollment path, and fake
// WebSocket connections that record what the console sends.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>

#include "console/service.h"
#include "console/sqlite_store.h"
#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/hex.h"
#include "pki/key.h"
#include "proto/codec.h"
#include "test_helpers.h"

namespace sg::console::test {

namespace fs = std::filesystem;

constexpr uint64_t kSec = 1'000'000'000;
constexpr int64_t kWallStart = 1'764'480'000'000;  // 2025-11-30

class FakeConnection : public net::WsConnection {
 public:
  FakeConnection(uint64_t id, net::PeerInfo peer) : id_(id), peer_(std::move(peer)) {}
  bool send(std::string text) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    raw_.push_back(text);
    auto m = proto::parseConsoleMessage(text);
    EXPECT_TRUE(m.ok()) << text;
    if (m) sent_.push_back(std::move(*m));
    return true;
  }
  // Kept as well: a test can see which links were given the same buffer.
  bool sendShared(std::shared_ptr<const std::string> frame) override {
    if (!send(*frame)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    shared_.push_back(std::move(frame));
    return true;
  }
  // What WsSession::close() sends (a reason: see WsConnection::close()), so a
  // test tells it from the closes dropLink() names.
  void close() override { closeWith(1000, "closed by the console"); }
  void closeWith(uint16_t code, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) close_ = {code, reason};
    closed_ = true;
  }
  // The first close's code and reason (0 while open).
  std::pair<uint16_t, std::string> closeFrame() {
    std::lock_guard<std::mutex> lock(mu_);
    return close_;
  }
  std::vector<std::shared_ptr<const std::string>> takeShared() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(shared_, {});
  }
  const net::PeerInfo& peer() const override { return peer_; }
  uint64_t id() const override { return id_; }
  size_t pendingSends() const override { return pending; }
  std::atomic<size_t> pending{0};  // what pendingSends() says

  bool closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  std::vector<std::string> takeRaw() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(raw_, {});
  }
  std::vector<proto::ConsoleMessage> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  uint64_t id_;
  net::PeerInfo peer_;
  std::mutex mu_;
  bool closed_ = false;
  std::pair<uint16_t, std::string> close_{0, ""};
  std::vector<proto::ConsoleMessage> sent_;
  std::vector<std::string> raw_;  // as sent, for the protocol version
  std::vector<std::shared_ptr<const std::string>> shared_;
};

struct AgentCredentials {
  std::string name;
  std::string cert_pem;
  std::string key_pem;
  std::string cert_sha256;
};

inline std::string sha256Of(const std::string& cert_pem) {
  auto cert = pki::certFromPem(cert_pem);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert->get(), EVP_sha256(), md, &len);
  return pki::toHex(md, len);
}

class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sg-svc-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto key = pki::generateEcKey();
    auto ca = pki::selfSignCa(*key, "test CA", std::chrono::seconds(3600));
    ca_pem_ = *pki::certToPem(ca->get());
    ca_key_pem_ = *pki::keyToPem(*key);
    open();
  }
  void TearDown() override {
    svc_.reset();
    fs::remove_all(dir_);
  }
  std::string dbPath() const { return (dir_ / "console.db").string(); }
  void open() {
    svc_.reset();
    auto store = SqliteStore::open(dbPath());
    ASSERT_OK(store);
    std::unique_ptr<Store> base = std::move(*store);
    if (wrap_) base = wrap_(std::move(base));
    auto s = ConsoleService::open(
        std::move(base), options_, clock_, [this] { return wallNow(); }, ca_pem_, ca_key_pem_);
    ASSERT_OK(s);
    svc_ = std::move(*s);
  }
  int64_t wallNow() {
    return kWallStart + static_cast<int64_t>((clock_.nowNs() - kStartNs) / 1'000'000);
  }
  void advance(uint64_t ns) { clock_.advance(ns); }

  AgentCredentials enrollAgent(const std::string& name, const Labels& labels = {}) {
    auto token = svc_->createEnrollmentToken(admin_, labels, std::nullopt);
    EXPECT_OK(token);
    auto key = pki::generateEcKey();
    auto csr = pki::makeCsr(*key, name);
    auto result = svc_->enroll(*token, *pki::csrToPem(*csr), name);
    EXPECT_OK(result);
    if (!result) return {};
    return AgentCredentials{name, result->cert_pem, *pki::keyToPem(*key),
                            sha256Of(result->cert_pem)};
  }
  // A link opened with the agent's certificate, hello sent.
  std::shared_ptr<FakeConnection> connect(const AgentCredentials& a, uint64_t applied = 0,
                                          uint64_t acked_seq = 0) {
    auto conn = std::make_shared<FakeConnection>(next_conn_++,
                                                 net::PeerInfo{"127.0.0.1", a.name, a.cert_sha256});
    svc_->agentLink()->onOpen(conn);
    sendFrom(conn, proto::Hello{a.name, "0.1.0", "linux", applied, acked_seq});
    return conn;
  }
  void sendFrom(const std::shared_ptr<FakeConnection>& conn, const proto::AgentMessage& m) {
    svc_->agentLink()->onText(conn, proto::encode(m));
  }
  static proto::Event detection(const char* source, uint64_t agent_ns, uint16_t port = 443) {
    proto::Event e;
    e.kind = proto::EventKind::kFloodDetected;
    e.source = *parsePrefix(source);
    e.dst_port = port;
    e.count = 300;
    e.window_ms = 5000;
    e.first_attempt_ns = agent_ns - kSec;
    e.detected_ns = agent_ns;
    return e;
  }

  static constexpr uint64_t kStartNs = 1000 * kSec;
  fs::path dir_;
  std::string ca_pem_, ca_key_pem_;
  FakeClock clock_{kStartNs};
  ConsoleOptions options_;
  std::unique_ptr<ConsoleService> svc_;
  // Set before open(): wraps the store (error injection).
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_;
  uint64_t next_conn_ = 1;
  Actor admin_{"root", Role::kAdmin};
  Actor operator_{"olga", Role::kOperator};
  Actor viewer_{"vic", Role::kViewer};
};

}  // namespace sg::console::test
