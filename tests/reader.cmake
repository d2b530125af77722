# Reader-side suites: the segment codec, libringprof and the `ringprof` command.
rp_add_test(codec LIBS ringprof_codec TIMEOUT 60)
rp_add_test(reader SOURCES test_reader.c test_cli_fixture.c
  LIBS ringprof_reader ringprof_codec TIMEOUT 120)
rp_add_test(cli SOURCES test_cli.c test_cli_fixture.c
  LIBS ringprof_codec TIMEOUT 120)
add_dependencies(test_cli ringprof_cli)
