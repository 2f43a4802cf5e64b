! Compares the Fortran interface with the C library bit for bit on the
! reference outputs of tests/bindings/binding_reference.c, and checks that
! errors reach Fortran as a status with the library's message.
!
!   galaxyml_fortran_test REFERENCE_DIR
!   galaxyml_fortran_test --fatal REFERENCE_DIR
!
! --fatal makes one failing call without a stat argument, which must stop
! the program with the library's message and status name.
!
! REFERENCE_DIR holds manifest.json, the model files and the raw C-order
! arrays it names; a C array of shape [a, b] is read as a Fortran (b, a).
! A host prior for model%posterior_draw through options%prior_log_prob:
! the half-space theta(1) >= 0, which cuts through the reference model's
! box, so draws that follow it rather than the box can be told apart.
module fortran_test_priors
  use, intrinsic :: iso_c_binding
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_negative_inf
  implicit none
contains
  function half_space_log_prob(theta, n, theta_dim, log_prob, user) bind(C) result(status)
    type(c_ptr), value :: theta, log_prob, user
    integer(c_int64_t), value :: n, theta_dim
    integer(c_int32_t) :: status
    real(c_double), pointer :: t(:, :), lp(:)
    call c_f_pointer(theta, t, [theta_dim, n])
    call c_f_pointer(log_prob, lp, [n])
    where (t(1, :) >= 0)
      lp = 0
    elsewhere
      lp = ieee_value(lp, ieee_negative_inf)
    end where
    ! It takes no user data: a pointer arriving here would be a mix-up.
    status = merge(0_c_int32_t, 1_c_int32_t, .not. c_associated(user))
  end function half_space_log_prob
end module fortran_test_priors

program test_fortran
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
  use galaxyml
  implicit none

  character(len=:), allocatable :: dir, manifest
  type(gml_context_t) :: ctx
  integer :: failures = 0
  character(len=4096) :: arg

  if (command_argument_count() == 2) then
    call get_command_argument(2, arg)
    dir = trim(arg)
    call get_command_argument(1, arg)
    if (arg == '--fatal') call fatal_error()
  end if
  if (command_argument_count() /= 1) then
    write (error_unit, '(a)') 'usage: galaxyml_fortran_test [--fatal] REFERENCE_DIR'
    stop 2
  end if
  call get_command_argument(1, arg)
  dir = trim(arg)
  manifest = read_text(dir // '/manifest.json')

  call ctx%create(device='cpu')
  call check(ctx%device() == 'cpu', 'context device is cpu')

  call test_flow()
  call test_posterior()
  call test_posterior_draw()
  call test_posterior_import()
  call test_merger()
  if (index(manifest, '"diffusion"') > 0) call test_diffusion()
  call test_errors()

  call ctx%free()
  if (failures > 0) then
    write (error_unit, '(i0,a)') failures, ' check(s) failed'
    error stop 1
  end if
  write (output_unit, '(a)') 'bindings.fortran: all checks passed'

contains

  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (ok) then
      write (output_unit, '(a)') 'ok     ' // what
    else
      write (output_unit, '(a)') 'FAILED ' // what
      failures = failures + 1
    end if
  end subroutine check

  ! ------------------------------------------------------------------------
  ! manifest.json: the few values needed, found by key in document order
  ! ------------------------------------------------------------------------

  function read_text(path) result(text)
    character(len=*), intent(in) :: path
    character(len=:), allocatable :: text
    integer :: unit, size_bytes
    open (newunit=unit, file=path, access='stream', form='unformatted', status='old', action='read')
    inquire (unit=unit, size=size_bytes)
    allocate (character(len=size_bytes) :: text)
    read (unit) text
    close (unit)
  end function read_text

  ! The raw value after the last of keys, each searched after the one
  ! before it: a string's contents or a number's text.
  function json_value(keys) result(value)
    character(len=*), intent(in) :: keys(:)
    character(len=:), allocatable :: value
    integer :: at, i, start, k
    at = 1
    do k = 1, size(keys)
      i = index(manifest(at:), '"' // trim(keys(k)) // '"')
      if (i == 0) error stop 'manifest.json: no key ' // trim(keys(k))
      at = at + i + len_trim(keys(k)) + 1
    end do
    at = at + verify(manifest(at:), ' :') - 1
    if (manifest(at:at) == '"') then
      start = at + 1
      value = manifest(start:start + index(manifest(start:), '"') - 2)
    else
      start = at
      value = trim(adjustl(manifest(start:start + scan(manifest(start:), ',}]') - 2)))
    end if
  end function json_value

  function json_int(keys) result(v)
    character(len=*), intent(in) :: keys(:)
    integer(c_int64_t) :: v
    character(len=:), allocatable :: text
    text = json_value(keys)
    read (text, *) v
  end function json_int

  function json_real(keys) result(v)
    character(len=*), intent(in) :: keys(:)
    real(c_double) :: v
    character(len=:), allocatable :: text
    text = json_value(keys)
    read (text, *) v
  end function json_real

  ! Shape of a manifest array in Fortran order (C's reversed).
  function array_shape(name) result(shape)
    character(len=*), intent(in) :: name
    integer, allocatable :: shape(:)
    character(len=:), allocatable :: list
    integer :: at, i, n, c_shape(8)
    at = index(manifest, '"arrays"')
    i = index(manifest(at:), '"' // name // '"')
    at = at + i
    i = index(manifest(at:), '"shape"')
    at = at + i
    list = manifest(at + index(manifest(at:), '[') : at + index(manifest(at:), ']') - 2)
    n = 0
    if (len_trim(list) > 0) then
      n = 1
      do i = 1, len(list)
        if (list(i:i) == ',') n = n + 1
      end do
      read (list, *) c_shape(1:n)
    end if
    shape = c_shape(n:1:-1)
  end function array_shape

  function array_path(name) result(path)
    character(len=*), intent(in) :: name
    character(len=:), allocatable :: path
    path = dir // '/' // json_value([character(len=64) :: 'arrays', name, 'file'])
  end function array_path

  subroutine read_raw(name, buffer, nbytes)
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: buffer
    integer, intent(in) :: nbytes
    character(kind=c_char), pointer :: bytes(:)
    integer :: unit, size_bytes
    call c_f_pointer(buffer, bytes, [nbytes])
    open (newunit=unit, file=array_path(name), access='stream', form='unformatted', status='old', &
      action='read')
    inquire (unit=unit, size=size_bytes)
    if (size_bytes /= nbytes) error stop 'reference array of unexpected size: ' // name
    read (unit) bytes
    close (unit)
  end subroutine read_raw

  ! ------------------------------------------------------------------------
  ! Families
  ! ------------------------------------------------------------------------

  subroutine test_flow()
    type(gml_model_t) :: flow
    real(c_double), allocatable, target :: conditions(:, :), lp_conditions(:, :), log_prob(:), &
      ref_log_prob(:)
    real(c_float), allocatable, target :: stars(:, :), ref_stars(:, :), lp_stars(:, :)
    integer(c_int64_t) :: data_dim, condition_dim, n_galaxies, n_per_galaxy, seed
    integer, allocatable :: s(:)
    character(len=16), parameter :: sec = 'flow'

    call flow%load(ctx, dir // '/' // json_value([character(len=64) :: sec, 'model']), family='flow')
    call check(flow%family() == 'flow', 'flow: family')
    call flow%flow_dims(data_dim, condition_dim)
    n_galaxies = json_int([character(len=64) :: sec, 'sample', 'n_galaxies'])
    n_per_galaxy = json_int([character(len=64) :: sec, 'sample', 'n_per_galaxy'])
    seed = json_int([character(len=64) :: sec, 'sample', 'seed'])

    s = array_shape(json_value([character(len=64) :: sec, 'sample', 'conditions']))
    call check(all(s == [int(condition_dim), int(n_galaxies)]), 'flow: conditions shape (condition_dim, n_galaxies)')
    allocate (conditions(condition_dim, n_galaxies))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'conditions']), c_loc(conditions), &
      8 * size(conditions))
    allocate (stars(data_dim, n_galaxies * n_per_galaxy), ref_stars(data_dim, n_galaxies * n_per_galaxy))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'stars']), c_loc(ref_stars), 4 * size(ref_stars))
    call flow%flow_sample(ctx, conditions, n_per_galaxy, stars, seed=seed)
    call check(all(transfer(stars, 0_c_int32_t, size(stars)) == transfer(ref_stars, 0_c_int32_t, size(stars))), &
      'flow: sample equals C bit for bit')

    s = array_shape(json_value([character(len=64) :: sec, 'log_prob', 'stars']))
    allocate (lp_stars(s(1), s(2)))
    call read_raw(json_value([character(len=64) :: sec, 'log_prob', 'stars']), c_loc(lp_stars), 4 * size(lp_stars))
    s = array_shape(json_value([character(len=64) :: sec, 'log_prob', 'conditions']))
    allocate (lp_conditions(s(1), s(2)))
    call read_raw(json_value([character(len=64) :: sec, 'log_prob', 'conditions']), c_loc(lp_conditions), &
      8 * size(lp_conditions))
    call check(size(lp_conditions, 2) == json_int([character(len=64) :: sec, 'log_prob', 'n_conditions']), &
      'flow: n_conditions')
    allocate (log_prob(size(lp_stars, 2)), ref_log_prob(size(lp_stars, 2)))
    call read_raw(json_value([character(len=64) :: sec, 'log_prob', 'log_prob']), c_loc(ref_log_prob), &
      8 * size(ref_log_prob))
    call flow%flow_log_prob(ctx, lp_stars, lp_conditions, log_prob)
    call check(all(transfer(log_prob, 0_c_int64_t, size(log_prob)) == &
      transfer(ref_log_prob, 0_c_int64_t, size(log_prob))), 'flow: log_prob equals C bit for bit')
  end subroutine test_flow

  subroutine test_posterior()
    type(gml_model_t) :: post
    real(c_double), allocatable, target :: x(:, :), theta(:, :, :), ref_theta(:, :, :), &
      summary(:, :, :), ref_summary(:, :, :)
    integer(c_int64_t), allocatable :: n_outside(:)
    integer(c_int64_t) :: theta_dim, x_dim, n_obs, n_samples, seed
    character(len=16), parameter :: sec = 'posterior'

    call post%load(ctx, dir // '/' // json_value([character(len=64) :: sec, 'model']), family='posterior')
    call post%posterior_dims(theta_dim, x_dim)

    n_obs = json_int([character(len=64) :: sec, 'sample', 'n_obs'])
    n_samples = json_int([character(len=64) :: sec, 'sample', 'n_samples'])
    seed = json_int([character(len=64) :: sec, 'sample', 'seed'])
    allocate (x(x_dim, n_obs), theta(theta_dim, n_samples, n_obs), ref_theta(theta_dim, n_samples, n_obs))
    allocate (n_outside(n_obs))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'x']), c_loc(x), 8 * size(x))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'theta']), c_loc(ref_theta), 8 * size(ref_theta))
    call post%posterior_sample(ctx, x, n_samples, theta, seed=seed, n_outside=n_outside)
    call check(all(transfer(theta, 0_c_int64_t, size(theta)) == transfer(ref_theta, 0_c_int64_t, size(theta))), &
      'posterior: sample equals C bit for bit')
    call check(all(n_outside >= 0 .and. n_outside <= n_samples), 'posterior: n_outside in range')
    call check_sample_file(post, x, n_samples, seed, ref_theta)

    deallocate (x)
    n_obs = json_int([character(len=64) :: sec, 'summarize', 'n_obs'])
    n_samples = json_int([character(len=64) :: sec, 'summarize', 'n_samples'])
    seed = json_int([character(len=64) :: sec, 'summarize', 'seed'])
    allocate (x(x_dim, n_obs), summary(GML_SUMMARY_COLUMNS, theta_dim, n_obs), &
      ref_summary(GML_SUMMARY_COLUMNS, theta_dim, n_obs))
    call read_raw(json_value([character(len=64) :: sec, 'summarize', 'x']), c_loc(x), 8 * size(x))
    call read_raw(json_value([character(len=64) :: sec, 'summarize', 'summary']), c_loc(ref_summary), &
      8 * size(ref_summary))
    call post%posterior_summarize(ctx, x, n_samples, summary, seed=seed)
    call check(all(transfer(summary, 0_c_int64_t, size(summary)) == &
      transfer(ref_summary, 0_c_int64_t, size(summary))), 'posterior: summarize equals C bit for bit')
  end subroutine test_posterior

  ! The same draws streamed to a .npy file: its data after the header are
  ! the C draws, bit for bit (the file is C order, as theta in memory).
  subroutine check_sample_file(post, x, n_samples, seed, ref_theta)
    type(gml_model_t), intent(in) :: post
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples, seed
    real(c_double), intent(in) :: ref_theta(:, :, :)
    character(len=*), parameter :: npy = 'fortran_posterior_draws.npy'
    character(len=1) :: magic(10)
    real(c_double), allocatable :: draws(:, :, :)
    integer :: unit, header
    call post%posterior_sample_to_file(ctx, x, n_samples, npy, seed=seed)
    open (newunit=unit, file=npy, access='stream', form='unformatted', status='old')
    read (unit) magic
    header = 10 + ichar(magic(9)) + 256 * ichar(magic(10))
    allocate (draws, mold=ref_theta)
    read (unit, pos=header + 1) draws
    close (unit, status='delete')
    call check(all(transfer(draws, 0_c_int64_t, size(draws)) == &
      transfer(ref_theta, 0_c_int64_t, size(draws))), 'posterior: sample_to_file .npy equals C bit for bit')
  end subroutine check_sample_file

  ! Draws truncated to the prior box of tests/bindings/binding_reference.c
  ! (kPriorLower, kPriorUpper there): with truncation off they are the
  ! reference draws of posterior_sample; on, every draw lies in the box and
  ! the file holds the same draws.
  subroutine test_posterior_draw()
    use fortran_test_priors, only: half_space_log_prob
    real(c_double), parameter :: lower(3) = [-1d0, 0d0, -2d0], upper(3) = [1d0, 3d0, 2d0]
    character(len=16), parameter :: sec = 'posterior'
    character(len=*), parameter :: npy = 'fortran_posterior_truncated.npy'
    type(gml_model_t) :: post
    type(gml_posterior_sample_options) :: options
    real(c_double), allocatable, target :: x(:, :), theta(:, :, :), ref_theta(:, :, :), draws(:, :, :)
    integer(c_int64_t), allocatable :: n_accepted(:), n_proposed(:), n_outside(:)
    integer(c_int64_t) :: theta_dim, x_dim, n_obs, n_samples, seed, k
    integer(c_int32_t) :: stat
    character(len=1) :: magic(10)
    logical :: inside
    integer :: unit, header

    call post%load(ctx, dir // '/' // json_value([character(len=64) :: sec, 'model']), family='posterior')
    call post%posterior_dims(theta_dim, x_dim)
    n_obs = json_int([character(len=64) :: sec, 'sample', 'n_obs'])
    n_samples = json_int([character(len=64) :: sec, 'sample', 'n_samples'])
    seed = json_int([character(len=64) :: sec, 'sample', 'seed'])
    allocate (x(x_dim, n_obs), theta(theta_dim, n_samples, n_obs), ref_theta(theta_dim, n_samples, n_obs))
    allocate (n_accepted(n_obs), n_proposed(n_obs), n_outside(n_obs))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'x']), c_loc(x), 8 * size(x))
    call read_raw(json_value([character(len=64) :: sec, 'sample', 'theta']), c_loc(ref_theta), 8 * size(ref_theta))
    call check(index(post%posterior_describe(), '"prior"') > 0, 'posterior_describe: has a "prior" key')

    options = gml_posterior_sample_defaults()
    call check(options%truncate == -1 .and. abs(options%min_acceptance - 1d-3) < 1d-18 .and. &
      .not. c_associated(options%prior_log_prob), 'posterior_draw: defaults')

    call post%posterior_draw(ctx, x, n_samples, theta, seed=seed, truncate=0_c_int32_t, &
      n_accepted=n_accepted, n_proposed=n_proposed)
    call check(all(transfer(theta, 0_c_int64_t, size(theta)) == transfer(ref_theta, 0_c_int64_t, size(theta))), &
      'posterior_draw: truncate=0 equals posterior_sample bit for bit')
    call check(all(n_accepted == n_samples) .and. all(n_proposed == n_samples), &
      'posterior_draw: truncate=0 accepts every proposal')

    call post%posterior_sample(ctx, x, n_samples, ref_theta, seed=seed, n_outside=n_outside)
    call post%posterior_draw(ctx, x, n_samples, theta, seed=seed, n_accepted=n_accepted, &
      n_proposed=n_proposed)
    inside = .true.
    do k = 1, theta_dim
      inside = inside .and. all(theta(k, :, :) >= lower(k) .and. theta(k, :, :) <= upper(k))
    end do
    call check(inside, 'posterior_draw: every draw inside the prior box')
    call check(all(n_accepted == n_samples), 'posterior_draw: n_samples draws accepted per observation')
    call check(all(n_proposed - n_accepted >= n_outside), &
      'posterior_draw: at least the draws of posterior_sample outside the box are rejected')

    call post%posterior_draw_to_file(ctx, x, n_samples, npy, seed=seed)
    open (newunit=unit, file=npy, access='stream', form='unformatted', status='old')
    read (unit) magic
    header = 10 + ichar(magic(9)) + 256 * ichar(magic(10))
    allocate (draws, mold=theta)
    read (unit, pos=header + 1) draws
    close (unit, status='delete')
    call check(all(transfer(draws, 0_c_int64_t, size(draws)) == transfer(theta, 0_c_int64_t, size(draws))), &
      'posterior_draw_to_file: .npy equals posterior_draw bit for bit')

    options%prior_log_prob = c_funloc(half_space_log_prob)
    call post%posterior_draw(ctx, x, n_samples, theta, seed=seed, options=options, n_accepted=n_accepted)
    call check(all(theta(1, :, :) >= 0) .and. all(n_accepted == n_samples), &
      'posterior_draw: options%prior_log_prob decides the support')

    call post%posterior_draw(ctx, x, n_samples, theta, min_acceptance=2d0, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. index(gml_error_message(), 'min_acceptance') > 0, &
      'posterior_draw: min_acceptance above 1 is refused: ' // gml_error_message())
    call post%posterior_draw(ctx, x, n_samples, theta, n_accepted=n_accepted(1:1), stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. index(gml_error_message(), 'n_accepted') > 0, &
      'posterior_draw: n_accepted of another length: ' // gml_error_message())
  end subroutine test_posterior_draw

  ! Simulations made here written as a training set, then that file
  ! imported again: the counts of the reports, and the errors this layer
  ! finds before calling the library.
  subroutine test_posterior_import()
    use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan
    character(len=*), parameter :: written = 'fortran_training_set.h5', imported = 'fortran_imported.h5'
    integer(c_int64_t), parameter :: n = 40
    real(c_double) :: theta(2, n), x(3, n)
    type(gml_posterior_import_options) :: options
    type(gml_posterior_import_report) :: report
    integer(c_int64_t) :: theta_dim, x_dim, rows, i
    integer(c_int32_t) :: stat
    integer :: unit

    do i = 1, n
      theta(1, i) = (i - 0.5d0) / n
      theta(2, i) = modulo(7 * i, n) / real(n, c_double)
      x(:, i) = [theta(1, i) + theta(2, i), theta(1, i) - theta(2, i), 2 * theta(1, i)]
    end do
    ! Row 7 (0-based) of the C array: dropped and counted.
    x(2, 8) = ieee_value(x(2, 8), ieee_quiet_nan)
    ! Kept, and counted as outside the box.
    theta(2, n) = 1.5d0

    options = gml_posterior_import_defaults()
    call check(options%reject_nonfinite == 0 .and. options%prior_dim == 0 .and. &
      gml_string_from_c(options%theta) == 'theta' .and. gml_string_from_c(options%x) == 'x', &
      'posterior_import: defaults')
    call ctx%posterior_training_set_write(theta, x, written, prior_lower=[0d0, 0d0], &
      prior_upper=[1d0, 1d0], theta_names='mass,age', x_names='f0,f1,f2', report=report)
    call check(report%theta_dim == 2 .and. report%x_dim == 3 .and. report%rows_read == n .and. &
      report%rows_written == n - 1 .and. report%rows_nonfinite == 1 .and. &
      report%rows_outside_prior == 1, 'posterior_training_set_write: report counts')
    call gml_training_set_shape(written, theta_dim, x_dim, rows)
    call check(theta_dim == 2 .and. x_dim == 3 .and. rows == n - 1, &
      'posterior_training_set_write: file shape')

    call ctx%posterior_import(written, imported, report=report)
    call check(report%rows_read == n - 1 .and. report%rows_written == n - 1 .and. &
      report%rows_nonfinite == 0 .and. report%rows_outside_prior == 0, &
      'posterior_import: a training set imports with the defaults')
    call ctx%posterior_import(written, imported, theta='theta', x='x', prior_lower=[0d0, 0d0], &
      prior_upper=[1d0, 1d0], report=report)
    call check(report%theta_dim == 2 .and. report%x_dim == 3 .and. report%rows_outside_prior == 1, &
      'posterior_import: prior box counts theta outside it')
    call gml_training_set_shape(imported, theta_dim, x_dim, rows)
    call check(theta_dim == 2 .and. x_dim == 3 .and. rows == n - 1, 'posterior_import: file shape')

    options%reject_nonfinite = 1
    call ctx%posterior_training_set_write(theta, x, imported, options=options, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT, 'posterior_training_set_write: reject_nonfinite ' // &
      'refuses a NaN row: ' // gml_error_message())
    call ctx%posterior_training_set_write(theta, x(:, 2:), imported, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. index(gml_error_message(), 'x: extent 2') > 0, &
      'posterior_training_set_write: x of another row count: ' // gml_error_message())
    call ctx%posterior_import(written, imported, prior_lower=[0d0, 0d0], stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. index(gml_error_message(), 'prior_upper') > 0, &
      'posterior_import: half a prior box: ' // gml_error_message())
    ! A normal prior has no bound, so no theta is outside it; with a box too
    ! the prior would be given twice.
    call ctx%posterior_training_set_write(theta, x, imported, report=report, &
      prior='{"kind": "normal", "mean": [0.5, 0.5], "std": [1, 1]}')
    call check(report%rows_written == n - 1 .and. report%rows_outside_prior == 0, &
      'posterior_training_set_write: a normal prior as JSON')
    call ctx%posterior_import(written, imported, prior_lower=[0d0, 0d0], prior_upper=[1d0, 1d0], &
      prior='{"kind": "normal", "mean": [0.5, 0.5], "std": [1, 1]}', stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT, &
      'posterior_import: a prior box and a JSON prior together are refused: ' // gml_error_message())
    call ctx%posterior_import(written, imported, x='no_such_dataset', stat=stat)
    call check(stat == GML_ERR_FORMAT .and. index(gml_error_message(), 'no_such_dataset') > 0, &
      'posterior_import: a missing dataset is GML_ERR_FORMAT: ' // gml_error_message())

    open (newunit=unit, file=written, status='old')
    close (unit, status='delete')
    open (newunit=unit, file=imported, status='old')
    close (unit, status='delete')
  end subroutine test_posterior_import

  subroutine test_merger()
    type(gml_model_t) :: merger
    real(c_float), allocatable, target :: images(:, :, :, :), probs(:, :), ref_probs(:, :), time_myr(:), &
      ref_time(:), latent(:, :), ref_latent(:, :)
    integer(c_int32_t), allocatable, target :: classes(:), ref_classes(:), flags(:), ref_flags(:)
    integer(c_int64_t) :: in_channels, image_size, n_classes, latent_dim, n
    integer, allocatable :: s(:)
    character(len=16), parameter :: sec = 'merger'
    logical :: with_latent

    call merger%load(ctx, dir // '/' // json_value([character(len=64) :: sec, 'model']), family='merger')
    call merger%merger_dims(in_channels, image_size, n_classes, latent_dim)
    n = json_int([character(len=64) :: sec, 'classify', 'n'])
    s = array_shape(json_value([character(len=64) :: sec, 'classify', 'images']))
    call check(s(3) == json_int([character(len=64) :: sec, 'classify', 'channels']) .and. &
      s(2) == json_int([character(len=64) :: sec, 'classify', 'height']) .and. &
      s(1) == json_int([character(len=64) :: sec, 'classify', 'width']) .and. s(4) == n, &
      'merger: images shape (width, height, channels, n)')
    allocate (images(s(1), s(2), s(3), s(4)))
    call read_raw(json_value([character(len=64) :: sec, 'classify', 'images']), c_loc(images), 4 * size(images))
    allocate (probs(n_classes, n), ref_probs(n_classes, n), time_myr(n), ref_time(n), classes(n), &
      ref_classes(n), flags(n), ref_flags(n))
    call read_raw(json_value([character(len=64) :: sec, 'classify', 'probs']), c_loc(ref_probs), 4 * size(ref_probs))
    call read_raw(json_value([character(len=64) :: sec, 'classify', 'classes']), c_loc(ref_classes), &
      4 * size(ref_classes))
    call read_raw(json_value([character(len=64) :: sec, 'classify', 'time_myr']), c_loc(ref_time), &
      4 * size(ref_time))
    call read_raw(json_value([character(len=64) :: sec, 'classify', 'flags']), c_loc(ref_flags), &
      4 * size(ref_flags))
    with_latent = json_value([character(len=64) :: sec, 'classify', 'latent']) /= 'null'
    if (with_latent) then
      allocate (latent(latent_dim, n), ref_latent(latent_dim, n))
      call read_raw(json_value([character(len=64) :: sec, 'classify', 'latent']), c_loc(ref_latent), &
        4 * size(ref_latent))
      call merger%merger_classify(ctx, images, probs=probs, classes=classes, time_myr=time_myr, &
        latent=latent, flags=flags, resize=int(json_int([character(len=64) :: sec, 'classify', 'resize']), &
        c_int32_t))
      call check(all(transfer(latent, 0_c_int32_t, size(latent)) == &
        transfer(ref_latent, 0_c_int32_t, size(latent))), 'merger: latent equals C bit for bit')
    else
      call merger%merger_classify(ctx, images, probs=probs, classes=classes, time_myr=time_myr, &
        flags=flags, resize=int(json_int([character(len=64) :: sec, 'classify', 'resize']), c_int32_t))
    end if
    call check(all(transfer(probs, 0_c_int32_t, size(probs)) == transfer(ref_probs, 0_c_int32_t, size(probs))), &
      'merger: probs equal C bit for bit')
    call check(all(classes == ref_classes), 'merger: classes equal C')
    call check(all(transfer(time_myr, 0_c_int32_t, size(time_myr)) == &
      transfer(ref_time, 0_c_int32_t, size(time_myr))), 'merger: time_myr equals C bit for bit')
    call check(all(flags == ref_flags), 'merger: flags equal C')
  end subroutine test_merger

  subroutine test_diffusion()
    type(gml_model_t) :: sd
    type(gml_diffusion_options) :: opts
    real(c_float), allocatable, target :: images(:, :, :, :), ref_images(:, :, :, :)
    integer(c_int64_t) :: shape(4)
    character(len=16), parameter :: sec = 'diffusion'
    character(len=:), allocatable :: prompt
    type(gml_diffusion_procedural_options) :: popts
    integer(c_int32_t) :: stat
    logical :: written

    call sd%load(ctx, json_value([character(len=64) :: sec, 'model']), family='diffusion')
    opts = gml_diffusion_defaults()
    opts%n_per_prompt = json_int([character(len=64) :: sec, 'txt2img', 'n'])
    opts%height = json_int([character(len=64) :: sec, 'txt2img', 'height'])
    opts%width = json_int([character(len=64) :: sec, 'txt2img', 'width'])
    opts%steps = json_int([character(len=64) :: sec, 'txt2img', 'steps'])
    opts%guidance = json_real([character(len=64) :: sec, 'txt2img', 'guidance'])
    opts%seed = json_int([character(len=64) :: sec, 'txt2img', 'seed'])
    prompt = json_value([character(len=64) :: sec, 'txt2img', 'prompt'])
    call sd%diffusion_image_shape(1_c_int64_t, shape, options=opts)
    call check(all(shape == array_shape(json_value([character(len=64) :: sec, 'txt2img', 'images']))), &
      'diffusion: image_shape is (width, height, channels, n)')
    allocate (images(shape(1), shape(2), shape(3), shape(4)), ref_images(shape(1), shape(2), shape(3), shape(4)))
    call read_raw(json_value([character(len=64) :: sec, 'txt2img', 'images']), c_loc(ref_images), &
      4 * size(ref_images))
    call sd%diffusion_txt2img(ctx, [prompt], images, options=opts, &
      negative_prompt=json_value([character(len=64) :: sec, 'txt2img', 'negative_prompt']), &
      scheduler=json_value([character(len=64) :: sec, 'txt2img', 'scheduler']))
    call check(all(transfer(images, 0_c_int32_t, size(images)) == &
      transfer(ref_images, 0_c_int32_t, size(images))), 'diffusion: txt2img equals C bit for bit')

    popts = gml_diffusion_procedural_defaults()
    popts%size = 16
    call ctx%procedural_galaxies(dir // '/procedural.fits', 2_c_int64_t, tags='disk, 2 arms', &
      options=popts)
    inquire (file=dir // '/procedural.fits', exist=written)
    call check(written, 'diffusion: procedural galaxies written')
    call ctx%procedural_galaxies(dir // '/procedural_bad.fits', 2_c_int64_t, tags='disk, spirall', &
      options=popts, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. &
      index(gml_error_message(), "nearest: 'spiral'") > 0, &
      'diffusion: an unknown procedural tag is refused with the nearest one')
  end subroutine test_diffusion

  ! ------------------------------------------------------------------------
  ! Errors reach Fortran as a status with a message, never as a crash
  ! ------------------------------------------------------------------------

  subroutine fatal_error()
    type(gml_model_t) :: missing
    call ctx%create(device='cpu')
    call missing%load(ctx, dir // '/no_such_model.h5')
    write (output_unit, '(a)') 'a failed call without stat returned'
  end subroutine fatal_error

  subroutine test_errors()
    type(gml_model_t) :: missing, flow, post
    type(gml_model_file_info_t) :: info
    integer(c_int32_t) :: stat
    integer(c_int64_t) :: data_dim, condition_dim
    real(c_double), allocatable :: conditions(:, :), log_prob(:)
    real(c_float), allocatable :: stars(:, :)
    character(len=:), allocatable :: message

    call missing%load(ctx, dir // '/no_such_model.h5', stat=stat)
    message = gml_error_message()
    call check(stat == GML_ERR_IO, 'error: missing model file is GML_ERR_IO (got ' // gml_status_string(stat) // ')')
    call check(gml_status_string(stat) == 'GML_ERR_IO', 'error: status name')
    call check(index(message, 'no_such_model.h5') > 0, 'error: library message names the file: ' // message)
    call check(.not. c_associated(missing%ptr), 'error: failed load leaves no handle')

    call gml_inspect_model_file(dir // '/flow.h5', info, family='posterior', stat=stat)
    call check(stat == GML_ERR_FAMILY, 'error: inspect with the wrong family is GML_ERR_FAMILY: ' // &
      gml_error_message())
    call gml_inspect_model_file(dir // '/flow.h5', info, stat=stat)
    call check(stat == GML_OK .and. info%family == 'flow' .and. info%checksum(1:7) == 'fnv1a64' .and. &
      info%n_tensors > 0, 'inspect: flow.h5 is a flow with a checksum')

    call flow%load(ctx, dir // '/flow.h5', family='flow')
    call flow%flow_dims(data_dim, condition_dim)
    allocate (conditions(condition_dim, 2))
    conditions = 0
    ! Leading dimension one too large: a C-order [n, data_dim] array read
    ! without reversing its dimensions has this shape.
    allocate (stars(data_dim + 1, 6))
    call flow%flow_sample(ctx, conditions, 3_c_int64_t, stars, stat=stat)
    message = gml_error_message()
    call check(stat == GML_ERR_INVALID_ARGUMENT, 'extent: wrong leading dimension of stars gives a status')
    call check(index(message, 'stars') > 0 .and. index(message, 'extent 1') > 0, &
      'extent: message names the argument: ' // message)
    deallocate (stars)
    allocate (stars(data_dim, 5))
    call flow%flow_sample(ctx, conditions, 3_c_int64_t, stars, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT .and. index(gml_error_message(), 'extent 2') > 0, &
      'extent: too few stars for n_galaxies * n_per_galaxy gives a status')
    allocate (log_prob(4))
    call flow%flow_log_prob(ctx, stars, conditions, log_prob, stat=stat)
    call check(stat == GML_ERR_INVALID_ARGUMENT, 'extent: conditions neither 1 nor n columns gives a status')

    call post%load(ctx, dir // '/posterior.h5')
    call post%flow_dims(data_dim, condition_dim, stat=stat)
    call check(stat == GML_ERR_FAMILY, 'error: flow call on a posterior model is GML_ERR_FAMILY: ' // &
      gml_error_message())
    ! A library failure after a binding one reports the library's message.
    call missing%load(ctx, dir // '/flow.h5', family='merger', stat=stat)
    call check(stat == GML_ERR_FAMILY .and. index(gml_error_message(), 'extent') == 0, &
      'error: library message follows a binding message')
  end subroutine test_errors

end program test_fortran
