// io.h: the bounded pipe between a pushing producer and a pulling consumer, and AtomicFile's
// refusal to replace an existing file.
#include "strongroom/io.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

namespace strongroom::io {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> Pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::mt19937 rng(7);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

// Bytes pass in order and whole through a pipe far smaller than them, in pieces of sizes that
// do not divide the capacity (the ring wraps in every position).
TEST(PipeTest, CarriesEveryByteInOrderThroughASmallRing) {
  const auto data = Pattern(1'000'003);
  Pipe pipe(4093);
  std::thread producer([&] {
    std::span<const std::uint8_t> left(data);
    std::size_t piece = 1;
    while (!left.empty()) {
      const std::size_t n = std::min(left.size(), piece);
      ASSERT_TRUE(pipe.writer().Write(left.first(n)));
      left = left.subspan(n);
      piece = piece * 7 % 9001 + 1;
    }
    pipe.CloseWriter();
  });
  std::vector<std::uint8_t> got;
  std::vector<std::uint8_t> buffer(3001);
  for (;;) {
    auto n = pipe.reader().Read(buffer);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    got.insert(got.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  pipe.CloseReader();
  producer.join();
  EXPECT_EQ(got, data);
}

// A producer that failed makes the consumer fail once the buffered bytes are read: a cut
// stream must not look like a clean end.
TEST(PipeTest, AFailedWriterIsAnErrorNotAnEnd) {
  Pipe pipe(64);
  const std::vector<std::uint8_t> some(10, 1);
  ASSERT_TRUE(pipe.writer().Write(some));
  pipe.CloseWriter(/*failed=*/true);
  std::vector<std::uint8_t> buffer(64);
  auto n = pipe.reader().Read(buffer);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 10u);
  auto end = pipe.reader().Read(buffer);
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error(), errc::io_error);
  pipe.CloseReader();

  Pipe clean(64);
  clean.CloseWriter();
  auto zero = clean.reader().Read(buffer);
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, 0u);
  clean.CloseReader();
}

// A consumer that gives up wakes a producer blocked on the full pipe, and later writes fail:
// the producer stops instead of waiting forever.
TEST(PipeTest, ClosingTheReaderReleasesABlockedWriter) {
  Pipe pipe(16);
  result<void> outcome;
  std::thread producer([&] {
    const std::vector<std::uint8_t> big(1000, 2);
    outcome = pipe.writer().Write(big);  // Blocks after 16 bytes.
    pipe.CloseWriter(!outcome);
  });
  std::this_thread::sleep_for(50ms);
  pipe.CloseReader();
  producer.join();
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), errc::io_error);
}

TEST(AtomicFileTest, CommitWithoutReplaceLeavesAnExistingFileAlone) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("strongroom-io-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string target = (dir / "out").string();
  { std::ofstream(target) << "old"; }
  {
    auto f = AtomicFile::Create(target);
    ASSERT_TRUE(f);
    const std::vector<std::uint8_t> bytes = {'n', 'e', 'w'};
    ASSERT_TRUE(f->Write(bytes));
    auto r = f->Commit(AtomicFile::Replace::no);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::already_exists);
  }
  std::ifstream in(target);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1)
      << "the temporary file was removed";

  std::filesystem::remove(target);
  {
    auto f = AtomicFile::Create(target);
    ASSERT_TRUE(f);
    const std::vector<std::uint8_t> bytes = {'n', 'e', 'w'};
    ASSERT_TRUE(f->Write(bytes));
    ASSERT_TRUE(f->Commit(AtomicFile::Replace::no));
  }
  std::ifstream again(target);
  std::string fresh((std::istreambuf_iterator<char>(again)), {});
  EXPECT_EQ(fresh, "new");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strongroom::io
