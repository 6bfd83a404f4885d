// The test runner. SPDLOG_LEVEL=debug (spdlog's env syntax) shows the logs.
#define CATCH_CONFIG_RUNNER
#include <spdlog/cfg/env.h>
#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  spdlog::cfg::load_env_levels();
  return Catch::Session().run(argc, argv);
}
