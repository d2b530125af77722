# Deployment: configuration, reload, retention, socket activation, the
# systemd units and the man pages.  Every test runs the built ringprofd.
set(RP_DEPLOY_DEPS ringprofd e2e_client)

rp_add_test(conf SOURCES test_conf.c harness.c LIBS ringprof_reader TIMEOUT 240 LABELS deploy)
add_dependencies(test_conf ${RP_DEPLOY_DEPS})
rp_add_test(retain SOURCES deploy/test_retain.c harness.c LIBS ringprof_reader TIMEOUT 240
  LABELS deploy)
add_dependencies(test_retain ${RP_DEPLOY_DEPS})
rp_add_test(activation SOURCES deploy/test_activation.c harness.c LIBS ringprof_reader TIMEOUT 120
  LABELS deploy)
add_dependencies(test_activation ${RP_DEPLOY_DEPS})

# Units configured for the build tree: ExecStart= is the built ringprofd.
set(RINGPROF_SBINDIR ${PROJECT_BINARY_DIR}/daemon)
set(RINGPROF_RUNDIR /run/ringprof)
set(RP_DEPLOY_UNITS ${CMAKE_CURRENT_BINARY_DIR}/deploy-units)
configure_file(${PROJECT_SOURCE_DIR}/systemd/ringprofd.service.in
  ${RP_DEPLOY_UNITS}/ringprofd.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/systemd/ringprofd.socket.in
  ${RP_DEPLOY_UNITS}/ringprofd.socket @ONLY)
unset(RINGPROF_SBINDIR)
unset(RINGPROF_RUNDIR)
add_test(NAME units COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/deploy/units.sh
  ${RP_DEPLOY_UNITS} ${PROJECT_SOURCE_DIR})
set_tests_properties(units PROPERTIES TIMEOUT 60 LABELS deploy)

add_test(NAME man_pages COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/deploy/man.sh
  ${PROJECT_SOURCE_DIR}/man/ringprofd.8 ${PROJECT_SOURCE_DIR}/man/ringprofd.conf.5)
set_tests_properties(man_pages PROPERTIES TIMEOUT 60 LABELS deploy)
