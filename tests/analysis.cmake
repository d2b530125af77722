# Analysis suites: `ringprof summarize`, `diff` and `report` on fixed builds,
# output compared with tests/golden/analysis/, the report page driven in a
# real headless Chromium by report_browser.js.
rp_add_test(analysis SOURCES test_analysis.c test_analysis_fixture.c test_cli_fixture.c
  LIBS ringprof_codec TIMEOUT 180)
add_dependencies(test_analysis ringprof_cli)
