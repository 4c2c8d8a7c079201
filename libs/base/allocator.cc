// jemalloc's defaults for every long-running binary (kam_server_binary in CMakeLists.txt).
// Two arenas instead of four per core, and freed pages returned within two seconds: the
// rebuild of a million events peaked at 240 MiB RSS with the defaults and at 171 MiB with
// these, at the same speed (kam-bench rebuild). MALLOC_CONF in the environment still wins.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "narenas:2,dirty_decay_ms:2000,muzzy_decay_ms:0";
}
