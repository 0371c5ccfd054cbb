// LocalBlobStore: the BlobStore conformance suite, then what only a directory can show
// (layout, modes, temporary files, crash leftovers, reopening, the lock).
#include "blob_store_conformance.h"
#include "server/storage/local_blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace strongroom::storage::testing {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory per test; the store lives in "<it>/store", which Open()
// creates.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "strongroom-blob-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct LocalHarness {
  TempDir temp;
  result<std::unique_ptr<BlobStore>> Open() {
    auto store = LocalBlobStore::Open((temp.path() / "store").string());
    if (!store) return store.error();
    return std::unique_ptr<BlobStore>(std::move(*store));
  }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Local, BlobStoreConformance, ::testing::Types<LocalHarness>);

namespace {

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // Closes the store (releasing its lock) and opens the directory again, as a restart does.
  void Reopen() {
    store_.reset();
    auto store = LocalBlobStore::Open(dir_.string());
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  LocalBlobStore& store() { return *store_; }

  result<void> PutBytes(const BlobId& id, const Bytes& data, std::uint64_t max = kNoLimit) {
    ShortReadSource in(data);
    return store().Put(id, in, max);
  }

  std::vector<std::string> Entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  static unsigned Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  static Bytes ReadFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static void WriteFile(const fs::path& p, const Bytes& data) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
  }

  TempDir temp_;
  const fs::path dir_ = temp_.path() / "store";
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(LocalBlobStoreTest, LaysOutBlobsInTwoCharacterFanOutDirectories) {
  const Bytes data = PatternData(3000);
  ASSERT_TRUE(PutBytes(Id("abcdef"), data));
  ASSERT_TRUE(PutBytes(Id("a"), data));
  ASSERT_TRUE(PutBytes(Id("ab"), data));
  EXPECT_EQ(LocalBlobStore::RelativePath(Id("abcdef")), "ab/abcdef");
  EXPECT_EQ(LocalBlobStore::RelativePath(Id("a")), "_/a");
  EXPECT_EQ(LocalBlobStore::RelativePath(Id("_a")), "_a/_a");
  EXPECT_EQ(ReadFile(dir_ / "ab" / "abcdef"), data);
  EXPECT_EQ(ReadFile(dir_ / "_" / "a"), data);
  EXPECT_EQ(Entries(dir_ / "ab"), (std::vector<std::string>{"ab", "abcdef"}));
  EXPECT_EQ(Entries(dir_), (std::vector<std::string>{"LOCK", "_", "ab", "staging", "tmp"}));
}

TEST_F(LocalBlobStoreTest, DirectoriesAreMode0700AndBlobsMode0600) {
  ASSERT_TRUE(PutBytes(Id("secret"), PatternData(10)));
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ / "tmp"), 0700u);
  EXPECT_EQ(Mode(dir_ / "se"), 0700u);
  EXPECT_EQ(Mode(dir_ / "se" / "secret"), 0600u);
  EXPECT_EQ(Mode(dir_ / "LOCK"), 0600u);
}

TEST_F(LocalBlobStoreTest, FailedPutsLeaveNoTemporaryFiles) {
  const Bytes data = PatternData(500'000);
  EXPECT_EQ(PutBytes(Id("big"), data, 1000).error(), errc::too_large);
  FailingSource failing(data, errc::io_error);
  EXPECT_EQ(store().Put(Id("cut"), failing, kNoLimit).error(), errc::io_error);
  ASSERT_TRUE(PutBytes(Id("dup"), data));
  EXPECT_EQ(PutBytes(Id("dup"), PatternData(10)).error(), errc::already_exists);
  EXPECT_TRUE(Entries(dir_ / "tmp").empty());
  EXPECT_EQ(Entries(dir_ / "du"), std::vector<std::string>{"dup"});
  EXPECT_FALSE(fs::exists(dir_ / "bi" / "big"));
  EXPECT_FALSE(fs::exists(dir_ / "cu" / "cut"));
}

TEST_F(LocalBlobStoreTest, RacingPutsLeaveNoTemporaryFiles) {
  constexpr int kThreads = 8;
  Gate gate(kThreads);
  std::vector<Bytes> data;
  data.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) data.push_back(PatternData(100'000, static_cast<unsigned>(t)));
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      GatedSource in(data[static_cast<std::size_t>(t)], gate);
      (void)store().Put(Id("same"), in, kNoLimit);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(Entries(dir_ / "tmp").empty());
  EXPECT_EQ(Entries(dir_ / "sa"), std::vector<std::string>{"same"});
  const Bytes stored = ReadFile(dir_ / "sa" / "same");
  EXPECT_EQ(std::count(data.begin(), data.end(), stored), 1);
}

TEST_F(LocalBlobStoreTest, OpenRemovesStaleTemporaryFiles) {
  const Bytes data = PatternData(4000);
  ASSERT_TRUE(PutBytes(Id("kept"), data));
  store_.reset();
  // What crashes leave: a half-written upload, and a second name of a blob whose Put()
  // crashed between linkat() and unlink().
  WriteFile(dir_ / "tmp" / "put-0", PatternData(123));
  WriteFile(dir_ / "tmp" / "put-1", {});
  ASSERT_EQ(::link((dir_ / "ke" / "kept").c_str(), (dir_ / "tmp" / "put-2").c_str()), 0);
  Reopen();
  EXPECT_TRUE(Entries(dir_ / "tmp").empty());
  auto got = [&] {
    io::MemorySink out;
    EXPECT_TRUE(store().Get(Id("kept"), out));
    return out.data();
  }();
  EXPECT_EQ(got, data);
  EXPECT_EQ(*store().List(), std::vector<BlobId>{Id("kept")});
  // The names the crashed process used are free again.
  ASSERT_TRUE(PutBytes(Id("after"), data));
}

TEST_F(LocalBlobStoreTest, DataSurvivesReopening) {
  std::vector<BlobId> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(Id("persist-" + std::to_string(i)));
    ASSERT_TRUE(PutBytes(ids.back(),
                         PatternData(static_cast<std::size_t>(i) * 777, static_cast<unsigned>(i))));
  }
  ASSERT_TRUE(store().Delete(ids[3]));
  ids.erase(ids.begin() + 3);
  Reopen();
  std::sort(ids.begin(), ids.end());
  auto listed = store().List();
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, ids);
  for (int i = 0; i < 20; ++i) {
    if (i == 3) continue;
    io::MemorySink out;
    ASSERT_TRUE(store().Get(Id("persist-" + std::to_string(i)), out)) << i;
    EXPECT_EQ(out.data(), PatternData(static_cast<std::size_t>(i) * 777, static_cast<unsigned>(i)))
        << i;
  }
  // Still no replacing after a restart.
  EXPECT_EQ(PutBytes(ids[0], {}).error(), errc::already_exists);
}

TEST_F(LocalBlobStoreTest, StagedUploadsSurviveReopeningSoTheyCanResume) {
  const BlobId staged = Id("upload");
  const Bytes data = PatternData(10'000);
  ASSERT_TRUE(store().CreateStaged(staged));
  {
    auto sink = store().AppendStaged(staged, 0);
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write(std::span(data).first(4000)));
  }
  Reopen();  // A server restart in the middle of an upload.
  EXPECT_EQ(*store().StagedSize(staged), 4000u);
  {
    auto sink = store().AppendStaged(staged, 4000);
    ASSERT_TRUE(sink);
    ASSERT_TRUE((*sink)->Write(std::span(data).subspan(4000)));
  }
  ASSERT_TRUE(store().CommitStaged(staged, Id("whole")));
  io::MemorySink out;
  ASSERT_TRUE(store().Get(Id("whole"), out));
  EXPECT_EQ(out.data(), data);
  EXPECT_TRUE(Entries(dir_ / "staging").empty());
}

TEST_F(LocalBlobStoreTest, ASecondOpenOfTheSameDirectoryIsRefused) {
  auto second = LocalBlobStore::Open(dir_.string());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), errc::io_error);
  // Its temporary files were not touched by the refused Open().
  WriteFile(dir_ / "tmp" / "in-flight", PatternData(10));
  EXPECT_FALSE(LocalBlobStore::Open(dir_.string()));
  EXPECT_TRUE(fs::exists(dir_ / "tmp" / "in-flight"));
  store_.reset();
  auto reopened = LocalBlobStore::Open(dir_.string() + "/");  // Trailing slash is fine.
  EXPECT_TRUE(reopened);
}

TEST_F(LocalBlobStoreTest, OpenRefusesBadPaths) {
  EXPECT_EQ(LocalBlobStore::Open("").error(), errc::invalid_argument);
  EXPECT_EQ(LocalBlobStore::Open((temp_.path() / "no" / "such").string()).error(), errc::not_found);
  WriteFile(temp_.path() / "file", PatternData(1));
  EXPECT_EQ(LocalBlobStore::Open((temp_.path() / "file").string()).error(), errc::io_error);
}

TEST_F(LocalBlobStoreTest, ListIgnoresFilesThatAreNotBlobs) {
  // Things an operator or another tool might leave; none is a blob Get() could find.
  fs::create_directories(dir_ / "xy");
  WriteFile(dir_ / "xy" / "zz", PatternData(1));   // Wrong fan-out.
  WriteFile(dir_ / "xy" / "xY1", PatternData(1));  // Not a valid id.
  fs::create_directories(dir_ / "xy" / "xyz");     // A directory, not a file.
  fs::create_directories(dir_ / "abc");            // Not a fan-out name.
  WriteFile(dir_ / "abc" / "abcd", PatternData(1));
  WriteFile(dir_ / "README", PatternData(1));
  fs::create_symlink(dir_ / "README", dir_ / "xy" / "xylink");  // Symlinks are not blobs.
  auto listed = store().List();
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  ASSERT_TRUE(PutBytes(Id("xy1"), PatternData(5)));
  EXPECT_EQ(*store().List(), std::vector<BlobId>{Id("xy1")});
}

}  // namespace
}  // namespace strongroom::storage::testing
