// The replay runner: a fuzz target without libFuzzer, for the ordinary (GCC) build and its
// tests. Runs the target over every file given (or in the directories given), then over
// `--mutations N` pseudo-random mutations of them (flipped, inserted, erased, repeated bytes
// and records spliced from two inputs) from a fixed `--seed`, so that a test run exercises
// the targets cheaply and the same way every time. A crash file from a libFuzzer run
// replays the same way: `fuzz_envelope_replay crash-1234...`.
//
//   fuzz_domain_replay tests/fuzz/corpus/domain --mutations 2000 --seed 1
//
// Exit status 0 when every input ran; a failed check aborts (fixture.h Fail).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(std::mt19937_64& rng, const std::vector<std::string>& corpus) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  std::string s = corpus[pick(corpus.size())];
  const int steps = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < steps; ++i) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // set a byte to an interesting value
        if (!s.empty()) {
          static const char kValues[] = {
              0,    1,   0x7f, static_cast<char>(0x80), static_cast<char>(0xff), '"', ',',
              '\n', ';', '='};
          s[pick(s.size())] = kValues[pick(sizeof kValues)];
        }
        break;
      case 2:  // insert random bytes
        s.insert(pick(s.size() + 1), std::string(1 + pick(8), static_cast<char>(rng())));
        break;
      case 3:  // erase a range
        if (!s.empty()) {
          const std::size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<std::size_t>(16, s.size() - at)));
        }
        break;
      case 4:  // repeat a range
        if (!s.empty()) {
          const std::size_t at = pick(s.size());
          const std::string piece = s.substr(at, 1 + pick(32));
          s.insert(pick(s.size() + 1), piece);
        }
        break;
      case 5: {  // splice with another input
        const std::string& other = corpus[pick(corpus.size())];
        s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        break;
      }
      default:  // truncate
        s.resize(pick(s.size() + 1));
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "usage: %s [--mutations N] [--seed S] FILE|DIR...\n  no such file: %s\n",
                   argv[0], arg.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());  // directory order is not stable
  std::vector<std::string> corpus;
  for (const auto& f : files) corpus.push_back(ReadFile(f));
  if (corpus.empty() && mutations > 0) corpus.emplace_back();
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& input : corpus) Run(input);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) Run(Mutate(rng, corpus));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu corpus inputs and %ld mutations (seed %llu) ran in %.2f s\n", files.size(),
              mutations, static_cast<unsigned long long>(seed), seconds);
  return 0;
}
