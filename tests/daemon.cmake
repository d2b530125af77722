# ringprofd integration suite: spawns the built daemon (RINGPROF_BUILD_DIR)
# and decodes its segments with the codec.
rp_add_test(daemon SOURCES test_daemon.c LIBS ringprof_codec ringprof_proto TIMEOUT 240
  LABELS daemon)
add_dependencies(test_daemon ringprofd)
