// Pinned maps: a sensor loaded again over the same pin directory (a private
// bpffs mounted on a temporary directory) finds its blocks and enforces them
// at once; a pin whose layout differs is recreated, saying why.
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

class PinsTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    char dir[] = "/tmp/sg-pins-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_EQ(::mount("bpf", dir, "bpf", 0, nullptr), 0);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    KernelTest::TearDown();
  }
  // Replaces the fixture's sensor with one over the pins.
  void reload(uint32_t max_blocks = 16384) {
    prog_.reset();
    sensor_.reset();
    SensorOptions o;
    o.max_blocks = max_blocks;
    o.pin_dir = dir_ + "/syn-guard";
    auto loaded = XdpSensor::load(o);
    ASSERT_OK(loaded);
    sensor_ = std::move(*loaded);
    ASSERT_OK(sensor_->setConfig(cfg_));
    prog_ = std::make_unique<XdpProgram>(sensor_->progFd());
  }
  std::string notes() const {
    std::string s;
    for (const auto& n : sensor_->pinNotes()) s += n + "\n";
    return s;
  }

  std::string dir_;
  bool mounted_ = false;
};

TEST_F(PinsTest, BlocksOfAnEarlierLoadAreFoundAndEnforcedAtOnce) {
  reload();
  ASSERT_EQ(synBurst("192.0.2.120", cfg_.threshold + 1), 1);
  auto listed = sensor_->listBlocks();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_OK(sensor_->markHandedOff(keyOf("192.0.2.120")));
  reload();
  EXPECT_NE(notes().find("reusing the pinned"), std::string::npos) << notes();
  EXPECT_TRUE(isBlocked("192.0.2.120"));
  EXPECT_EQ(send(ackFrom("192.0.2.120")), XDP_DROP)
      << "the new program's prefilter must know the pinned block, and XDP must hold a "
         "handed-off block until this agent hands it off again";
  EXPECT_EQ(send(ackFrom("192.0.2.121")), XDP_PASS);
}

// A prefix block (Block Globally) lives in its own pinned tries: the new
// program drops from the prefix at once, its gate set from the pinned table,
// and takes back a block the previous agent had handed to nftables.
TEST_F(PinsTest, PrefixBlocksOfAnEarlierLoadAreEnforcedAtOnce) {
  reload();
  sg_prefix_block b{};
  b.added_ns = sensor_->kernelNowNs();
  b.expires_ns = b.added_ns + 60'000'000'000ull;
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL | SG_BLK_HANDED_OFF;
  ASSERT_OK(sensor_->addPrefixBlock(*parsePrefix("198.51.100.0/24"), b));
  b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK(sensor_->addPrefixBlock(*parsePrefix("2001:db8::/32"), b));
  EXPECT_EQ(send(synFrom("198.51.100.9")), XDP_PASS) << "handed off: nftables holds it";
  reload();
  EXPECT_EQ(sensor_->prefixGate(), SG_PREFIX_V4 | SG_PREFIX_V6);
  EXPECT_EQ(send(synFrom("198.51.100.9")), XDP_DROP);
  EXPECT_EQ(send(synFrom("2001:db8:1::9")), XDP_DROP);
  auto listed = sensor_->listPrefixBlocks();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  for (const auto& kb : *listed) EXPECT_FALSE(kb.block.flags & SG_BLK_HANDED_OFF);
}

// The count state is only worth pinning with the secret that placed it: a
// source halfway to its threshold before the restart crosses it after.
TEST_F(PinsTest, CountsAndTheHashKeySurviveAReload) {
  reload();
  const sg_hash_key first = sensor_->hashKey();
  const int half = static_cast<int>(cfg_.threshold / 2);
  ASSERT_EQ(synBurst("192.0.2.140", half), 0);
  reload();
  EXPECT_EQ(sensor_->hashKey().k0, first.k0);
  EXPECT_EQ(sensor_->hashKey().k1, first.k1);
  EXPECT_EQ(synBurst("192.0.2.140", static_cast<int>(cfg_.threshold) - half + 1), 1)
      << "the reloaded program must find the source's pinned slot and go on counting";
}

// Another user who can write into the pin directory could plant a hash key
// it knows and maps it holds open: such a directory is not trusted.
TEST_F(PinsTest, ADirectoryOthersCanWriteIsNotTrusted) {
  reload();
  const sg_hash_key first = sensor_->hashKey();
  ASSERT_EQ(::chmod((dir_ + "/syn-guard").c_str(), 0777), 0);
  reload();
  EXPECT_NE(notes().find("closed to others"), std::string::npos) << notes();
  EXPECT_FALSE(sensor_->hashKey().k0 == first.k0 && sensor_->hashKey().k1 == first.k1)
      << "the key pinned in an open directory must not be adopted";
}

TEST_F(PinsTest, AnIncompatiblePinIsRecreatedWithAClearNote) {
  reload(16384);
  ASSERT_EQ(synBurst("192.0.2.130", cfg_.threshold + 1), 1);
  reload(1024);
  EXPECT_NE(notes().find("max_entries 16384 -> 1024"), std::string::npos) << notes();
  EXPECT_FALSE(isBlocked("192.0.2.130"));
  EXPECT_EQ(sensor_->blockCapacity(), 1024u);
}

TEST_F(PinsTest, ADirectoryOffBpffsTurnsPinningOffWithANote) {
  prog_.reset();
  sensor_.reset();
  SensorOptions o;
  char plain[] = "/tmp/sg-nopins-XXXXXX";
  ASSERT_NE(mkdtemp(plain), nullptr);
  o.pin_dir = plain;
  auto loaded = XdpSensor::load(o);
  ASSERT_OK(loaded);
  sensor_ = std::move(*loaded);
  EXPECT_NE(notes().find("not on a bpf filesystem"), std::string::npos) << notes();
  std::error_code ec;
  std::filesystem::remove_all(plain, ec);
}

}  // namespace
}  // namespace sg::test
