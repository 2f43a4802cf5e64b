! A downstream Fortran program built against the installed tree: the
! module, the library and the ABI version it reports.
program consumer
  use galaxyml
  implicit none
  type(gml_context_t) :: ctx
  integer(c_int32_t) :: stat

  if (gml_abi_version() /= GML_HEADER_ABI_VERSION) error stop "ABI version mismatch"
  call ctx%create(device='cpu', stat=stat)
  if (stat /= GML_OK) error stop "context creation failed"
  print '(a)', 'fortran consumer ok'
end program consumer
