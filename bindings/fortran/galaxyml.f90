! galaxyml: the Fortran interface of galaxyml.
!
! Built on the generated declarations of galaxyml_c (which it re-exports:
! the GML_* constants, the bind(C) option types and the raw gml_* functions
! stay available). What this layer adds:
!
!   - handles as derived types (gml_context_t, gml_model_t, gml_wcs_t,
!     gml_catalog_t, gml_table_writer_t) whose final procedures free them;
!     free() releases one earlier. A handle variable must not be copied by
!     assignment: both copies would own, and free, the one C handle.
!   - every status as an optional `stat` argument. With stat present the
!     call returns the status (GML_OK = 0, else a GML_ERR_* value) and
!     gml_error_message() says what went wrong; with stat absent a failure
!     stops the program with that message (error stop).
!   - Fortran strings in (copied to NUL-terminated buffers) and out (sized
!     by the library's length query, returned without the NUL).
!   - arrays in Fortran order. The C arrays are C-order (row-major); the
!     same memory is a Fortran array with the dimensions reversed, so a C
!     array [n, d] is a Fortran array (d, n) and [n, c, h, w] is (w, h, c, n).
!     Every procedure states its dimension order and checks the extents it
!     is given against the model or the other arguments before calling the
!     library; a mismatch is GML_ERR_INVALID_ARGUMENT with a message naming
!     the argument, never an out-of-bounds write. Non-contiguous sections
!     are accepted: the compiler passes a contiguous copy.
!   - int32 flags instead of logical (resize, restore_mean, checksum), as
!     the C functions take them.
!
! Seeds are integer(c_int64_t): the C uint64_t of the same bits. Callbacks
! (progress, log, simulator, catalog chunks) run on the calling thread
! only; the simulator and chunk adaptors keep their target in module
! variables, so at most one thread at a time may run gml_context_t%
! posterior_simulate or gml_catalog_t%stream.
module galaxyml
  use, intrinsic :: iso_c_binding
  use galaxyml_c
  implicit none

  ! The fields of gml_model_info as Fortran strings.
  type :: gml_model_file_info_t
    character(len=32) :: family = ''
    integer(c_int32_t) :: format_version = 0
    character(len=32) :: library_version = ''
    character(len=48) :: checksum = ''
    integer(c_int64_t) :: n_tensors = 0
    integer(c_int64_t) :: n_parameters = 0
  end type gml_model_file_info_t

  ! A device (CPU or one GPU), a seed, a distributed backend, a progress
  ! sink and a cancel flag. Calls that make new files (simulators,
  ! training, cutouts) are its procedures.
  type :: gml_context_t
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: create => context_create
    procedure :: free => context_free
    procedure :: device => context_device
    procedure :: rank => context_rank
    procedure :: set_progress => context_set_progress
    procedure :: cancel => context_cancel
    procedure :: cancel_reset => context_cancel_reset
    procedure :: selftest => context_selftest
    procedure :: cutouts_extract => context_cutouts_extract
    procedure :: cutouts_write => context_cutouts_write
    procedure :: flow_simulate => context_flow_simulate
    procedure :: flow_train => context_flow_train
    procedure :: posterior_simulate => context_posterior_simulate
    procedure :: posterior_simulate_sed => context_posterior_simulate_sed
    procedure :: posterior_train => context_posterior_train
    procedure :: posterior_training_set_write => context_posterior_training_set_write
    procedure :: posterior_import => context_posterior_import
    procedure :: merger_simulate => context_merger_simulate
    procedure :: merger_train => context_merger_train
    procedure :: merger_cluster => context_merger_cluster
    procedure :: procedural_galaxies => context_procedural_galaxies
    final :: context_final
  end type gml_context_t

  ! A loaded model of any family; the family's procedures refuse another
  ! family with GML_ERR_FAMILY.
  type :: gml_model_t
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: load => model_load
    procedure :: free => model_free
    procedure :: family => model_family
    procedure :: flow_dims => model_flow_dims
    procedure :: flow_describe => model_flow_describe
    procedure :: flow_sample => model_flow_sample
    procedure :: flow_sample_to_file => model_flow_sample_to_file
    procedure :: flow_log_prob => model_flow_log_prob
    procedure :: flow_evaluate => model_flow_evaluate
    procedure :: posterior_dims => model_posterior_dims
    procedure :: posterior_describe => model_posterior_describe
    procedure :: posterior_sample => model_posterior_sample
    procedure :: posterior_sample_to_file => model_posterior_sample_to_file
    procedure :: posterior_draw => model_posterior_draw
    procedure :: posterior_draw_to_file => model_posterior_draw_to_file
    procedure :: posterior_log_prob => model_posterior_log_prob
    procedure :: posterior_summarize => model_posterior_summarize
    procedure :: posterior_run_catalog => model_posterior_run_catalog
    procedure :: posterior_diagnose => model_posterior_diagnose
    procedure :: merger_dims => model_merger_dims
    procedure :: merger_classify => model_merger_classify
    procedure :: merger_encode => model_merger_encode
    procedure :: merger_index_build => model_merger_index_build
    procedure :: merger_search => model_merger_search
    procedure :: merger_search_latent => model_merger_search_latent
    procedure :: diffusion_describe => model_diffusion_describe
    procedure :: diffusion_image_shape => model_diffusion_image_shape
    procedure :: diffusion_txt2img => model_diffusion_txt2img
    procedure :: diffusion_img2img => model_diffusion_img2img
    procedure :: diffusion_tokenize => model_diffusion_tokenize
    procedure :: diffusion_encode_prompt => model_diffusion_encode_prompt
    final :: model_final
  end type gml_model_t

  ! A celestial WCS of a FITS header (WCSLIB, distortions included).
  type :: gml_wcs_t
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: open => wcs_open
    procedure :: open_header => wcs_open_header
    procedure :: free => wcs_free
    procedure :: pix2sky => wcs_pix2sky
    procedure :: sky2pix => wcs_sky2pix
    procedure :: pixel_scale => wcs_pixel_scale
    procedure :: header => wcs_header
    final :: wcs_final
  end type gml_wcs_t

  ! An open FITS table read through column mappings.
  type :: gml_catalog_t
    type(c_ptr) :: ptr = c_null_ptr
  contains
    procedure :: open => catalog_open
    procedure :: free => catalog_free
    procedure :: num_rows => catalog_num_rows
    procedure :: columns_json => catalog_columns_json
    procedure :: describe_mapping => catalog_describe_mapping
    procedure :: read => catalog_read
    procedure :: read_f64 => catalog_read_f64
    procedure :: stream => catalog_stream
    final :: catalog_final
  end type gml_catalog_t

  ! A FITS result table written block by block and committed atomically.
  type :: gml_table_writer_t
    type(c_ptr) :: ptr = c_null_ptr
    integer :: n_columns = 0
  contains
    procedure :: create => table_writer_create
    procedure :: add_column => table_writer_add_column
    procedure :: set_keyword => table_writer_set_keyword
    procedure :: append => table_writer_append
    procedure :: num_rows => table_writer_num_rows
    procedure :: commit => table_writer_commit
    procedure :: free => table_writer_free
    final :: table_writer_final
  end type gml_table_writer_t

  abstract interface
    ! A host forward model for gml_context_t%posterior_simulate:
    ! theta (theta_dim, n) drawn from the prior in, x (x_dim, n) out.
    ! Return 0 on success; anything else stops the generation.
    function gml_simulator(theta, x, user) result(status)
      import :: c_double, c_ptr, c_int32_t
      real(c_double), intent(in) :: theta(:, :)
      real(c_double), intent(out) :: x(:, :)
      type(c_ptr), intent(in) :: user
      integer(c_int32_t) :: status
    end function gml_simulator

    ! One block of gml_catalog_t%stream: table rows first_row (0-based)
    ! onwards, values (n_outputs, n_rows) with NaN where flagged, flags
    ! (n_rows) GML_ROW_* bits. Return 0 to go on; non-zero stops the
    ! stream, which then returns GML_ERR_CANCELLED.
    function gml_catalog_chunk(first_row, values, flags, user) result(status)
      import :: c_int64_t, c_float, c_int32_t, c_ptr
      integer(c_int64_t), intent(in) :: first_row
      real(c_float), intent(in) :: values(:, :)
      integer(c_int32_t), intent(in) :: flags(:)
      type(c_ptr), intent(in) :: user
      integer(c_int32_t) :: status
    end function gml_catalog_chunk
  end interface

  interface
    function c_strlen(s) bind(C, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: n
    end function c_strlen
  end interface

  private :: c_strlen
  private :: to_c, opt_to_c, finish, fail, bad_extent, from_buffer, opt_i64, opt_i32, c_string_array
  private :: import_options, sample_options
  private :: simulator_adaptor, chunk_adaptor

  ! An error found by this layer (an extent, a count) before any library
  ! call: gml_error_message() reports it until the next library failure.
  character(len=:), allocatable, save, private :: binding_message
  logical, save, private :: binding_failed = .false.

  procedure(gml_simulator), pointer, save, private :: active_simulator => null()
  integer(c_int64_t), save, private :: active_theta_dim = 0, active_x_dim = 0
  procedure(gml_catalog_chunk), pointer, save, private :: active_chunk => null()

contains

  ! ==========================================================================
  ! Strings, statuses and errors
  ! ==========================================================================

  ! A NUL-terminated copy of a Fortran string.
  function to_c(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=:), allocatable :: c
    c = s // c_null_char
  end function to_c

  ! The address of a NUL-terminated copy of s in buf, or NULL when s is absent.
  function opt_to_c(s, buf) result(p)
    character(len=*), intent(in), optional :: s
    character(kind=c_char, len=:), allocatable, target, intent(inout) :: buf
    type(c_ptr) :: p
    p = c_null_ptr
    if (present(s)) then
      buf = to_c(s)
      p = c_loc(buf)
    end if
  end function opt_to_c

  ! Copy of a NUL-terminated C string; '' for NULL.
  function gml_string_from_c(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer(c_size_t) :: n, i
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    n = c_strlen(p)
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function gml_string_from_c

  ! A strings-out buffer without its NUL; '' when the call failed.
  function from_buffer(buf, st) result(s)
    character(kind=c_char, len=:), allocatable, intent(in) :: buf
    integer(c_int32_t), intent(in) :: st
    character(len=:), allocatable :: s
    s = ''
    if (st == GML_OK .and. allocated(buf)) then
      if (len(buf) > 0) s = buf(1:index(buf, c_null_char) - 1)
    end if
  end function from_buffer

  ! NUL-terminated copies of strings (trailing blanks dropped), one after
  ! another in storage, and a C array of their addresses, for
  ! const char* const* arguments.
  subroutine c_string_array(strings, storage, ptrs)
    character(len=*), intent(in) :: strings(:)
    character(kind=c_char), allocatable, target, intent(out) :: storage(:)
    type(c_ptr), allocatable, target, intent(out) :: ptrs(:)
    integer :: i, j, at, n
    allocate(storage(size(strings) * (len(strings) + 1) + 1))
    allocate(ptrs(size(strings)))
    at = 1
    do i = 1, size(strings)
      n = len_trim(strings(i))
      ptrs(i) = c_loc(storage(at))
      do j = 1, n
        storage(at + j - 1) = strings(i)(j:j)
      end do
      storage(at + n) = c_null_char
      at = at + n + 1
    end do
  end subroutine c_string_array

  function opt_i64(x, default) result(v)
    integer(c_int64_t), intent(in), optional :: x
    integer(c_int64_t), intent(in) :: default
    integer(c_int64_t) :: v
    v = default
    if (present(x)) v = x
  end function opt_i64

  function opt_i32(x, default) result(v)
    integer(c_int32_t), intent(in), optional :: x
    integer(c_int32_t), intent(in) :: default
    integer(c_int32_t) :: v
    v = default
    if (present(x)) v = x
  end function opt_i32

  ! Message of the last failure on this thread: the library's
  ! gml_last_error() text, or this layer's own message when the failure was
  ! found here (an extent that disagrees with the model, a bad count).
  function gml_error_message() result(message)
    character(len=:), allocatable :: message
    if (binding_failed) then
      message = binding_message
    else
      message = gml_string_from_c(gml_last_error())
    end if
  end function gml_error_message

  ! Empties the last-error message.
  subroutine gml_error_clear()
    binding_failed = .false.
    call gml_clear_error()
  end subroutine gml_error_clear

  ! Constant name of a status, e.g. "GML_ERR_DEVICE".
  function gml_status_string(status) result(name)
    integer(c_int32_t), intent(in) :: status
    character(len=:), allocatable :: name
    name = gml_string_from_c(gml_status_name(status))
  end function gml_status_string

  ! Hands a library status to the caller: into stat when present, else a
  ! failure stops the program with the library's message and status name.
  subroutine finish(st, where, stat)
    integer(c_int32_t), intent(in) :: st
    character(len=*), intent(in) :: where
    integer(c_int32_t), intent(out), optional :: stat
    if (st /= GML_OK) binding_failed = .false.
    if (present(stat)) then
      stat = st
    else if (st /= GML_OK) then
      error stop 'galaxyml: ' // where // ': ' // gml_error_message() // ' [' // &
        gml_status_string(st) // ']'
    end if
  end subroutine finish

  ! A failure found by this layer: GML_ERR_INVALID_ARGUMENT with message.
  subroutine fail(where, message, stat)
    character(len=*), intent(in) :: where, message
    integer(c_int32_t), intent(out), optional :: stat
    binding_message = where // ': ' // message
    binding_failed = .true.
    if (present(stat)) then
      stat = GML_ERR_INVALID_ARGUMENT
    else
      error stop 'galaxyml: ' // binding_message // ' [GML_ERR_INVALID_ARGUMENT]'
    end if
  end subroutine fail

  ! True (after fail()) when extent `dim` of argument `what` is not `want`.
  function bad_extent(where, what, dim, got, want, stat) result(bad)
    character(len=*), intent(in) :: where, what
    integer, intent(in) :: dim
    integer(c_int64_t), intent(in) :: got, want
    integer(c_int32_t), intent(out), optional :: stat
    logical :: bad
    character(len=64) :: text
    bad = got /= want
    if (bad) then
      write (text, '(a,i0,a,i0,a,i0)') 'extent ', dim, ' is ', got, ', expected ', want
      call fail(where, what // ': ' // trim(text) // &
        ' (Fortran order: the C dimensions reversed)', stat)
    end if
  end function bad_extent

  ! ==========================================================================
  ! Library, initialisation, model files
  ! ==========================================================================

  ! Library version, e.g. "0.1.0".
  function gml_library_version() result(version)
    character(len=:), allocatable :: version
    version = gml_string_from_c(gml_version_string())
  end function gml_library_version

  ! Library, LibTorch, CUDA, HDF5, CFITSIO and WCSLIB versions.
  function gml_build_description() result(text)
    character(len=:), allocatable :: text
    text = gml_string_from_c(gml_build_info())
  end function gml_build_description

  ! Intra-op CPU threads in use; 0 before initialisation.
  function gml_thread_count() result(n)
    integer(c_int32_t) :: n
    n = gml_num_threads()
  end function gml_thread_count

  ! Process-wide settings (optional: the first context initialises with
  ! defaults). Also checks that the loaded library has the ABI these
  ! declarations were generated for. log_fn: a bind(C) procedure with the
  ! interface gml_log_fn (message is a C string: gml_string_from_c).
  subroutine gml_initialize(n_threads, log_level, seed, log_fn, log_user, stat)
    integer(c_int32_t), intent(in), optional :: n_threads, log_level
    integer(c_int64_t), intent(in), optional :: seed
    procedure(gml_log_fn), optional :: log_fn
    type(c_ptr), intent(in), optional :: log_user
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_init_options), target :: opts
    character(len=64) :: text
    if (gml_abi_version() /= GML_HEADER_ABI_VERSION) then
      write (text, '(a,i0,a,i0)') 'library ABI ', gml_abi_version(), ', module ABI ', &
        GML_HEADER_ABI_VERSION
      call fail('gml_initialize', trim(text), stat)
      return
    end if
    call gml_init_options_default(c_loc(opts))
    if (present(n_threads)) opts%num_threads = n_threads
    if (present(log_level)) opts%log_level = log_level
    if (present(seed)) opts%seed = seed
    if (present(log_fn)) opts%log_fn = c_funloc(log_fn)
    if (present(log_user)) opts%log_user = log_user
    call finish(gml_init(c_loc(opts)), 'gml_initialize', stat)
  end subroutine gml_initialize

  ! Reads and verifies a model file without loading it. family: the family
  ! the caller needs (absent: any).
  subroutine gml_inspect_model_file(path, info, family, stat)
    character(len=*), intent(in) :: path
    type(gml_model_file_info_t), intent(out) :: info
    character(len=*), intent(in), optional :: family
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_model_info), target :: c_info
    character(kind=c_char, len=:), allocatable, target :: c_path, c_family
    integer(c_int32_t) :: st
    c_path = to_c(path)
    c_info%struct_size = int(c_sizeof(c_info), c_int32_t)
    st = gml_model_file_inspect(c_loc(c_path), opt_to_c(family, c_family), c_loc(c_info))
    if (st == GML_OK) then
      info%family = chars_to_string(c_info%family)
      info%format_version = c_info%format_version
      info%library_version = chars_to_string(c_info%library_version)
      info%checksum = chars_to_string(c_info%checksum)
      info%n_tensors = c_info%n_tensors
      info%n_parameters = c_info%n_parameters
    end if
    call finish(st, 'gml_inspect_model_file', stat)
  contains
    function chars_to_string(chars) result(s)
      character(kind=c_char), intent(in) :: chars(:)
      character(len=:), allocatable :: s
      integer :: i
      s = ''
      do i = 1, size(chars)
        if (chars(i) == c_null_char) exit
        s = s // chars(i)
      end do
    end function chars_to_string
  end subroutine gml_inspect_model_file

  ! JSON text of a model file's architecture and training settings.
  function gml_model_file_config_json(path, stat) result(json)
    character(len=*), intent(in) :: path
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: c_path, buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    c_path = to_c(path)
    st = gml_model_file_config(c_loc(c_path), c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_model_file_config(c_loc(c_path), c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'gml_model_file_config_json', stat)
    json = from_buffer(buf, st)
  end function gml_model_file_config_json

  ! ==========================================================================
  ! Contexts
  ! ==========================================================================

  ! device: "cpu" (default here, unlike the C default "auto"), "cuda",
  ! "cuda:N" or "auto". seed: absent takes gml_initialize()'s seed.
  ! backend: "none" (default), "mpi" or "auto".
  subroutine context_create(self, device, seed, backend, stat)
    class(gml_context_t), intent(inout) :: self
    character(len=*), intent(in), optional :: device, backend
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_context_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_device, c_backend
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    call gml_context_options_default(c_loc(opts))
    c_device = to_c('cpu')
    if (present(device)) c_device = to_c(device)
    opts%device = c_loc(c_device)
    if (present(backend)) then
      c_backend = to_c(backend)
      opts%backend = c_loc(c_backend)
    end if
    if (present(seed)) then
      opts%seed = seed
      opts%seed_from_init = 0
    end if
    st = gml_context_create(c_loc(opts), out)
    if (st == GML_OK) self%ptr = out
    call finish(st, 'context%create', stat)
  end subroutine context_create

  subroutine context_free(self)
    class(gml_context_t), intent(inout) :: self
    call gml_context_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine context_free

  subroutine context_final(self)
    type(gml_context_t), intent(inout) :: self
    call gml_context_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine context_final

  ! Canonical device name: "cpu" or "cuda:N".
  function context_device(self, stat) result(name)
    class(gml_context_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: name
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_context_device(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_context_device(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'context%device', stat)
    name = from_buffer(buf, st)
  end function context_device

  ! Rank and size of the distributed backend (0 and 1 without one).
  subroutine context_rank(self, rank, size, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int32_t), intent(out), target :: rank, size
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_context_rank(self%ptr, c_loc(rank), c_loc(size)), 'context%rank', stat)
  end subroutine context_rank

  ! Progress sink of every long call on the context: a bind(C) function
  ! with the interface gml_progress_fn; its progress argument points to a
  ! type(gml_progress) (c_f_pointer), whose strings gml_string_from_c reads.
  ! Absent fn removes the sink.
  subroutine context_set_progress(self, fn, user, stat)
    class(gml_context_t), intent(in) :: self
    procedure(gml_progress_fn), optional :: fn
    type(c_ptr), intent(in), optional :: user
    integer(c_int32_t), intent(out), optional :: stat
    type(c_funptr) :: f
    type(c_ptr) :: u
    f = c_null_funptr
    u = c_null_ptr
    if (present(fn)) f = c_funloc(fn)
    if (present(user)) u = user
    call finish(gml_context_set_progress(self%ptr, f, u), 'context%set_progress', stat)
  end subroutine context_set_progress

  ! Raises the cancel flag: the running and every later long call on the
  ! context returns GML_ERR_CANCELLED until cancel_reset.
  subroutine context_cancel(self, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_cancel(self%ptr), 'context%cancel', stat)
  end subroutine context_cancel

  subroutine context_cancel_reset(self, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_cancel_reset(self%ptr), 'context%cancel_reset', stat)
  end subroutine context_cancel_reset

  ! A small computation on the device with progress reports.
  subroutine context_selftest(self, n_steps, checksum, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: n_steps
    real(c_double), intent(out), target :: checksum
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_context_selftest(self%ptr, n_steps, c_loc(checksum)), 'context%selftest', stat)
  end subroutine context_selftest

  ! ==========================================================================
  ! Models
  ! ==========================================================================

  ! family: "flow", "posterior", "merger", "diffusion" or absent for any.
  subroutine model_load(self, ctx, path, family, stat)
    class(gml_model_t), intent(inout) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: family
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path, c_family
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    c_path = to_c(path)
    st = gml_model_load(ctx%ptr, c_loc(c_path), opt_to_c(family, c_family), out)
    if (st == GML_OK) self%ptr = out
    call finish(st, 'model%load', stat)
  end subroutine model_load

  subroutine model_free(self)
    class(gml_model_t), intent(inout) :: self
    call gml_model_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine model_free

  subroutine model_final(self)
    type(gml_model_t), intent(inout) :: self
    call gml_model_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine model_final

  function model_family(self, stat) result(family)
    class(gml_model_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: family
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_model_family(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_model_family(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'model%family', stat)
    family = from_buffer(buf, st)
  end function model_family

  ! ==========================================================================
  ! Flow: p(stars | galaxy)
  ! ==========================================================================

  subroutine model_flow_dims(self, data_dim, condition_dim, stat)
    class(gml_model_t), intent(in) :: self
    integer(c_int64_t), intent(out), target :: data_dim, condition_dim
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_flow_dims(self%ptr, c_loc(data_dim), c_loc(condition_dim)), &
      'model%flow_dims', stat)
  end subroutine model_flow_dims

  ! Column names and training range as JSON.
  function model_flow_describe(self, stat) result(json)
    class(gml_model_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_flow_describe(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_flow_describe(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'model%flow_describe', stat)
    json = from_buffer(buf, st)
  end function model_flow_describe

  ! Draws n_per_galaxy stars of each galaxy.
  !   conditions (condition_dim, n_galaxies)              C [n_galaxies, condition_dim]
  !   stars      (data_dim, n_galaxies * n_per_galaxy)    C [n_galaxies * n_per_galaxy, data_dim]
  !              galaxy by galaxy
  !   outside    (n_galaxies), optional: distance outside the training range
  ! seed: absent or 0 takes the context's.
  subroutine model_flow_sample(self, ctx, conditions, n_per_galaxy, stars, seed, outside, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: conditions(:, :)
    integer(c_int64_t), intent(in) :: n_per_galaxy
    real(c_float), intent(out), target, contiguous :: stars(:, :)
    integer(c_int64_t), intent(in), optional :: seed
    real(c_double), intent(out), target, contiguous, optional :: outside(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%flow_sample'
    integer(c_int64_t), target :: data_dim, condition_dim
    integer(c_int64_t) :: n_galaxies
    type(c_ptr) :: p_outside
    integer(c_int32_t) :: st
    st = gml_flow_dims(self%ptr, c_loc(data_dim), c_loc(condition_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n_galaxies = size(conditions, 2, c_int64_t)
    if (bad_extent(where, 'conditions', 1, size(conditions, 1, c_int64_t), condition_dim, stat)) return
    if (bad_extent(where, 'stars', 1, size(stars, 1, c_int64_t), data_dim, stat)) return
    if (bad_extent(where, 'stars', 2, size(stars, 2, c_int64_t), n_galaxies * n_per_galaxy, stat)) return
    p_outside = c_null_ptr
    if (present(outside)) then
      if (bad_extent(where, 'outside', 1, size(outside, 1, c_int64_t), n_galaxies, stat)) return
      p_outside = c_loc(outside)
    end if
    st = gml_flow_sample(ctx%ptr, self%ptr, c_loc(conditions), n_galaxies, n_per_galaxy, &
      opt_i64(seed, 0_c_int64_t), c_loc(stars), size(stars, kind=c_size_t), p_outside)
    call finish(st, where, stat)
  end subroutine model_flow_sample

  ! As flow_sample, written to an HDF5 (.h5) or FITS (.fits) star table.
  !   conditions (condition_dim, n_galaxies)
  subroutine model_flow_sample_to_file(self, ctx, conditions, n_per_galaxy, path, seed, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: conditions(:, :)
    integer(c_int64_t), intent(in) :: n_per_galaxy
    character(len=*), intent(in) :: path
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%flow_sample_to_file'
    integer(c_int64_t), target :: data_dim, condition_dim
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int32_t) :: st
    st = gml_flow_dims(self%ptr, c_loc(data_dim), c_loc(condition_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    if (bad_extent(where, 'conditions', 1, size(conditions, 1, c_int64_t), condition_dim, stat)) return
    c_path = to_c(path)
    st = gml_flow_sample_to_file(ctx%ptr, self%ptr, c_loc(conditions), size(conditions, 2, c_int64_t), &
      n_per_galaxy, opt_i64(seed, 0_c_int64_t), c_loc(c_path))
    call finish(st, where, stat)
  end subroutine model_flow_sample_to_file

  ! log p(star | galaxy).
  !   stars      (data_dim, n)
  !   conditions (condition_dim, 1) for one galaxy, or (condition_dim, n)
  !   log_prob   (n)
  subroutine model_flow_log_prob(self, ctx, stars, conditions, log_prob, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_float), intent(in), target, contiguous :: stars(:, :)
    real(c_double), intent(in), target, contiguous :: conditions(:, :)
    real(c_double), intent(out), target, contiguous :: log_prob(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%flow_log_prob'
    integer(c_int64_t), target :: data_dim, condition_dim
    integer(c_int64_t) :: n
    integer(c_int32_t) :: st
    st = gml_flow_dims(self%ptr, c_loc(data_dim), c_loc(condition_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n = size(stars, 2, c_int64_t)
    if (bad_extent(where, 'stars', 1, size(stars, 1, c_int64_t), data_dim, stat)) return
    if (bad_extent(where, 'conditions', 1, size(conditions, 1, c_int64_t), condition_dim, stat)) return
    if (size(conditions, 2) /= 1) then
      if (bad_extent(where, 'conditions', 2, size(conditions, 2, c_int64_t), n, stat)) return
    end if
    if (bad_extent(where, 'log_prob', 1, size(log_prob, 1, c_int64_t), n, stat)) return
    st = gml_flow_log_prob(ctx%ptr, self%ptr, c_loc(stars), n, c_loc(conditions), &
      size(conditions, 2, c_int64_t), c_loc(log_prob))
    call finish(st, where, stat)
  end subroutine model_flow_log_prob

  ! GalacticFlow's MMD evaluation against every galaxy of a star table;
  ! galaxy_ids, delta_log_mass, mmd are allocated to (n_galaxies).
  subroutine model_flow_evaluate(self, ctx, stars_path, galaxy_id, n_samples, galaxy_ids, &
      delta_log_mass, mmd, seed, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: stars_path
    integer(c_int64_t), intent(in) :: galaxy_id, n_samples
    integer(c_int64_t), allocatable, target, intent(out) :: galaxy_ids(:)
    real(c_double), allocatable, target, intent(out) :: delta_log_mass(:), mmd(:)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int64_t), target :: n_galaxies
    integer(c_int32_t) :: st
    c_path = to_c(stars_path)
    st = gml_flow_evaluate(ctx%ptr, self%ptr, c_loc(c_path), galaxy_id, n_samples, &
      opt_i64(seed, 0_c_int64_t), c_null_ptr, c_null_ptr, c_null_ptr, 0_c_size_t, c_loc(n_galaxies))
    if (st == GML_OK) then
      allocate(galaxy_ids(n_galaxies), delta_log_mass(n_galaxies), mmd(n_galaxies))
      st = gml_flow_evaluate(ctx%ptr, self%ptr, c_loc(c_path), galaxy_id, n_samples, &
        opt_i64(seed, 0_c_int64_t), c_loc(galaxy_ids), c_loc(delta_log_mass), c_loc(mmd), &
        int(n_galaxies, c_size_t), c_loc(n_galaxies))
    end if
    call finish(st, 'model%flow_evaluate', stat)
  end subroutine model_flow_evaluate

  ! Stars of one galaxy of a star table: stars allocated to
  ! (data_dim, n_stars); conditions, when given, must hold condition_dim.
  subroutine gml_read_flow_galaxy(path, galaxy_id, stars, conditions, stat)
    character(len=*), intent(in) :: path
    integer(c_int64_t), intent(in) :: galaxy_id
    real(c_float), allocatable, target, intent(out) :: stars(:, :)
    real(c_double), intent(out), target, contiguous, optional :: conditions(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int64_t), target :: n_stars, data_dim
    type(c_ptr) :: p_cond
    integer(c_size_t) :: cond_cap
    integer(c_int32_t) :: st
    c_path = to_c(path)
    st = gml_flow_read_galaxy(c_loc(c_path), galaxy_id, c_null_ptr, 0_c_size_t, c_loc(n_stars), &
      c_loc(data_dim), c_null_ptr, 0_c_size_t)
    if (st == GML_OK) then
      allocate(stars(data_dim, n_stars))
      p_cond = c_null_ptr
      cond_cap = 0
      if (present(conditions)) then
        p_cond = c_loc(conditions)
        cond_cap = size(conditions, kind=c_size_t)
      end if
      st = gml_flow_read_galaxy(c_loc(c_path), galaxy_id, c_loc(stars), size(stars, kind=c_size_t), &
        c_loc(n_stars), c_loc(data_dim), p_cond, cond_cap)
    end if
    call finish(st, 'gml_read_flow_galaxy', stat)
  end subroutine gml_read_flow_galaxy

  ! Synthetic star table of n_galaxies galaxies with n_stars stars each.
  !   conditions (4, n_galaxies), optional (absent: random galaxies)
  subroutine context_flow_simulate(self, n_galaxies, n_stars, path, conditions, seed, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: n_galaxies, n_stars
    character(len=*), intent(in) :: path
    real(c_double), intent(in), target, contiguous, optional :: conditions(:, :)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'context%flow_simulate'
    character(kind=c_char, len=:), allocatable, target :: c_path
    type(c_ptr) :: p_cond
    p_cond = c_null_ptr
    if (present(conditions)) then
      if (bad_extent(where, 'conditions', 1, size(conditions, 1, c_int64_t), 4_c_int64_t, stat)) return
      if (bad_extent(where, 'conditions', 2, size(conditions, 2, c_int64_t), n_galaxies, stat)) return
      p_cond = c_loc(conditions)
    end if
    c_path = to_c(path)
    call finish(gml_flow_simulate(self%ptr, n_galaxies, n_stars, p_cond, opt_i64(seed, 0_c_int64_t), &
      c_loc(c_path)), where, stat)
  end subroutine context_flow_simulate

  ! Defaults of gml_context_t%flow_train's options.
  function gml_flow_train_defaults() result(opts)
    type(gml_flow_train_options), target :: opts
    call gml_flow_train_options_default(c_loc(opts))
  end function gml_flow_train_defaults

  ! Trains a flow on a star table. options: numeric settings
  ! (gml_flow_train_defaults() then edited); the string settings are
  ! arguments.
  subroutine context_flow_train(self, stars_path, model_path, options, checkpoint_path, &
      config_json, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: stars_path, model_path
    type(gml_flow_train_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: checkpoint_path, config_json
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_flow_train_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_stars, c_model, c_ckpt, c_config
    opts = gml_flow_train_defaults()
    if (present(options)) opts = options
    if (present(checkpoint_path)) opts%checkpoint_path = opt_to_c(checkpoint_path, c_ckpt)
    if (present(config_json)) opts%config_json = opt_to_c(config_json, c_config)
    c_stars = to_c(stars_path)
    c_model = to_c(model_path)
    call finish(gml_flow_train(self%ptr, c_loc(c_stars), c_loc(opts), c_loc(c_model)), &
      'context%flow_train', stat)
  end subroutine context_flow_train

  ! ==========================================================================
  ! Posterior: q(theta | x)
  ! ==========================================================================

  subroutine model_posterior_dims(self, theta_dim, x_dim, stat)
    class(gml_model_t), intent(in) :: self
    integer(c_int64_t), intent(out), target :: theta_dim, x_dim
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim)), &
      'model%posterior_dims', stat)
  end subroutine model_posterior_dims

  ! Labels, prior ("prior": its JSON, or null), its support (prior_lower,
  ! prior_upper; null entries unbounded), training range and architecture
  ! as JSON.
  function model_posterior_describe(self, stat) result(json)
    class(gml_model_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_posterior_describe(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_posterior_describe(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'model%posterior_describe', stat)
    json = from_buffer(buf, st)
  end function model_posterior_describe

  ! Posterior draws for a batch of observations.
  !   x         (x_dim, n_obs)                  C [n_obs, x_dim]
  !   theta     (theta_dim, n_samples, n_obs)   C [n_obs, n_samples, theta_dim]
  !   n_outside (n_obs), optional: draws outside the prior's support (kept;
  !             posterior_draw replaces them)
  subroutine model_posterior_sample(self, ctx, x, n_samples, theta, seed, n_outside, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples
    real(c_double), intent(out), target, contiguous :: theta(:, :, :)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int64_t), intent(out), target, contiguous, optional :: n_outside(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_sample'
    integer(c_int64_t), target :: theta_dim, x_dim
    integer(c_int64_t) :: n_obs
    type(c_ptr) :: p_out
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n_obs = size(x, 2, c_int64_t)
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    if (bad_extent(where, 'theta', 1, size(theta, 1, c_int64_t), theta_dim, stat)) return
    if (bad_extent(where, 'theta', 2, size(theta, 2, c_int64_t), n_samples, stat)) return
    if (bad_extent(where, 'theta', 3, size(theta, 3, c_int64_t), n_obs, stat)) return
    p_out = c_null_ptr
    if (present(n_outside)) then
      if (bad_extent(where, 'n_outside', 1, size(n_outside, 1, c_int64_t), n_obs, stat)) return
      p_out = c_loc(n_outside)
    end if
    st = gml_posterior_sample(ctx%ptr, self%ptr, c_loc(x), n_obs, n_samples, opt_i64(seed, 0_c_int64_t), &
      c_loc(theta), size(theta, kind=c_size_t), p_out)
    call finish(st, where, stat)
  end subroutine model_posterior_sample

  ! The draws of posterior_sample streamed to a file (written atomically);
  ! the extension picks the format: .h5 (samples, x), .fits (a row per
  ! draw) or .npy (float64, C order [n_obs, n_samples, theta_dim]).
  !   x  (x_dim, n_obs)   C [n_obs, x_dim]
  subroutine model_posterior_sample_to_file(self, ctx, x, n_samples, path, seed, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples
    character(len=*), intent(in) :: path
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_sample_to_file'
    integer(c_int64_t), target :: theta_dim, x_dim
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    c_path = to_c(path)
    st = gml_posterior_sample_to_file(ctx%ptr, self%ptr, c_loc(x), size(x, 2, c_int64_t), n_samples, &
      opt_i64(seed, 0_c_int64_t), c_loc(c_path))
    call finish(st, where, stat)
  end subroutine model_posterior_sample_to_file

  function gml_posterior_sample_defaults() result(opts)
    type(gml_posterior_sample_options), target :: opts
    call gml_posterior_sample_options_default(c_loc(opts))
  end function gml_posterior_sample_defaults

  ! options (or the defaults) with the truncation settings given.
  function sample_options(options, truncate, min_acceptance) result(opts)
    type(gml_posterior_sample_options), intent(in), optional :: options
    integer(c_int32_t), intent(in), optional :: truncate
    real(c_double), intent(in), optional :: min_acceptance
    type(gml_posterior_sample_options) :: opts
    opts = gml_posterior_sample_defaults()
    if (present(options)) opts = options
    if (present(truncate)) opts%truncate = truncate
    if (present(min_acceptance)) opts%min_acceptance = min_acceptance
  end function sample_options

  ! Posterior draws truncated to the prior's support (sbi's rejection
  ! sampling): draws outside it are rejected and replaced, so each
  ! observation gets n_samples draws of the posterior restricted to the
  ! prior, unless its acceptance falls below min_acceptance.
  !   x          (x_dim, n_obs)                  C [n_obs, x_dim]
  !   theta      (theta_dim, n_samples, n_obs)   C [n_obs, n_samples, theta_dim];
  !              observation i's n_accepted(i) draws first, NaN after them
  !   n_accepted (n_obs), optional: n_samples, or fewer where left short
  !   n_proposed (n_obs), optional: draws made (n_accepted / n_proposed is
  !              the acceptance)
  ! truncate: -1 (default) where the model's prior has a bound, 1 always,
  ! 0 never (then exactly posterior_sample's draws); min_acceptance:
  ! default 1e-3. Both override options (gml_posterior_sample_defaults()
  ! then edited), whose prior_log_prob may be the c_funloc of a bind(C)
  ! function with the gml_prior_log_prob_fn interface, a host prior whose
  ! support replaces the model's.
  subroutine model_posterior_draw(self, ctx, x, n_samples, theta, seed, options, truncate, &
      min_acceptance, n_accepted, n_proposed, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples
    real(c_double), intent(out), target, contiguous :: theta(:, :, :)
    integer(c_int64_t), intent(in), optional :: seed
    type(gml_posterior_sample_options), intent(in), optional :: options
    integer(c_int32_t), intent(in), optional :: truncate
    real(c_double), intent(in), optional :: min_acceptance
    integer(c_int64_t), intent(out), target, contiguous, optional :: n_accepted(:), n_proposed(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_draw'
    type(gml_posterior_sample_options), target :: opts
    integer(c_int64_t), target :: theta_dim, x_dim
    integer(c_int64_t) :: n_obs
    type(c_ptr) :: p_accepted, p_proposed
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n_obs = size(x, 2, c_int64_t)
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    if (bad_extent(where, 'theta', 1, size(theta, 1, c_int64_t), theta_dim, stat)) return
    if (bad_extent(where, 'theta', 2, size(theta, 2, c_int64_t), n_samples, stat)) return
    if (bad_extent(where, 'theta', 3, size(theta, 3, c_int64_t), n_obs, stat)) return
    p_accepted = c_null_ptr
    if (present(n_accepted)) then
      if (bad_extent(where, 'n_accepted', 1, size(n_accepted, 1, c_int64_t), n_obs, stat)) return
      p_accepted = c_loc(n_accepted)
    end if
    p_proposed = c_null_ptr
    if (present(n_proposed)) then
      if (bad_extent(where, 'n_proposed', 1, size(n_proposed, 1, c_int64_t), n_obs, stat)) return
      p_proposed = c_loc(n_proposed)
    end if
    opts = sample_options(options, truncate, min_acceptance)
    st = gml_posterior_draw(ctx%ptr, self%ptr, c_loc(x), n_obs, n_samples, opt_i64(seed, 0_c_int64_t), &
      c_loc(opts), c_loc(theta), size(theta, kind=c_size_t), p_accepted, p_proposed)
    call finish(st, where, stat)
  end subroutine model_posterior_draw

  ! The draws of posterior_draw streamed to a file (written atomically), in
  ! the formats of posterior_sample_to_file; an observation left short has
  ! NaN rows after its accepted draws (in FITS with INSIDE 0).
  !   x  (x_dim, n_obs)   C [n_obs, x_dim]
  subroutine model_posterior_draw_to_file(self, ctx, x, n_samples, path, seed, options, truncate, &
      min_acceptance, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples
    character(len=*), intent(in) :: path
    integer(c_int64_t), intent(in), optional :: seed
    type(gml_posterior_sample_options), intent(in), optional :: options
    integer(c_int32_t), intent(in), optional :: truncate
    real(c_double), intent(in), optional :: min_acceptance
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_draw_to_file'
    type(gml_posterior_sample_options), target :: opts
    integer(c_int64_t), target :: theta_dim, x_dim
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    opts = sample_options(options, truncate, min_acceptance)
    c_path = to_c(path)
    st = gml_posterior_draw_to_file(ctx%ptr, self%ptr, c_loc(x), size(x, 2, c_int64_t), n_samples, &
      opt_i64(seed, 0_c_int64_t), c_loc(opts), c_loc(c_path))
    call finish(st, where, stat)
  end subroutine model_posterior_draw_to_file

  ! log q(theta | x).
  !   theta    (theta_dim, n)
  !   x        (x_dim, 1) for one observation, or (x_dim, n)
  !   log_prob (n)
  subroutine model_posterior_log_prob(self, ctx, theta, x, log_prob, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: theta(:, :), x(:, :)
    real(c_double), intent(out), target, contiguous :: log_prob(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_log_prob'
    integer(c_int64_t), target :: theta_dim, x_dim
    integer(c_int64_t) :: n
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n = size(theta, 2, c_int64_t)
    if (bad_extent(where, 'theta', 1, size(theta, 1, c_int64_t), theta_dim, stat)) return
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    if (size(x, 2) /= 1) then
      if (bad_extent(where, 'x', 2, size(x, 2, c_int64_t), n, stat)) return
    end if
    if (bad_extent(where, 'log_prob', 1, size(log_prob, 1, c_int64_t), n, stat)) return
    st = gml_posterior_log_prob(ctx%ptr, self%ptr, c_loc(theta), n, c_loc(x), size(x, 2, c_int64_t), &
      c_loc(log_prob))
    call finish(st, where, stat)
  end subroutine model_posterior_log_prob

  ! Median, 16th/84th percentiles, mean and standard deviation of
  ! n_samples draws inside the prior's support (posterior_draw with its
  ! defaults); n_outside counts the draws rejected outside it.
  !   x       (x_dim, n_obs)
  !   summary (GML_SUMMARY_COLUMNS, theta_dim, n_obs)   C [n_obs, theta_dim, 5];
  !           summary(GML_SUMMARY_MEDIAN + 1, j, i) is the median of
  !           parameter j of observation i
  subroutine model_posterior_summarize(self, ctx, x, n_samples, summary, seed, n_outside, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_double), intent(in), target, contiguous :: x(:, :)
    integer(c_int64_t), intent(in) :: n_samples
    real(c_double), intent(out), target, contiguous :: summary(:, :, :)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int64_t), intent(out), target, contiguous, optional :: n_outside(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_summarize'
    integer(c_int64_t), target :: theta_dim, x_dim
    integer(c_int64_t) :: n_obs
    type(c_ptr) :: p_out
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n_obs = size(x, 2, c_int64_t)
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), x_dim, stat)) return
    if (bad_extent(where, 'summary', 1, size(summary, 1, c_int64_t), int(GML_SUMMARY_COLUMNS, c_int64_t), &
      stat)) return
    if (bad_extent(where, 'summary', 2, size(summary, 2, c_int64_t), theta_dim, stat)) return
    if (bad_extent(where, 'summary', 3, size(summary, 3, c_int64_t), n_obs, stat)) return
    p_out = c_null_ptr
    if (present(n_outside)) then
      if (bad_extent(where, 'n_outside', 1, size(n_outside, 1, c_int64_t), n_obs, stat)) return
      p_out = c_loc(n_outside)
    end if
    st = gml_posterior_summarize(ctx%ptr, self%ptr, c_loc(x), n_obs, n_samples, &
      opt_i64(seed, 0_c_int64_t), c_loc(summary), size(summary, kind=c_size_t), p_out)
    call finish(st, where, stat)
  end subroutine model_posterior_summarize

  function gml_posterior_run_defaults() result(opts)
    type(gml_posterior_run_options), target :: opts
    call gml_posterior_run_options_default(c_loc(opts))
  end function gml_posterior_run_defaults

  ! Posterior summaries of every row of a FITS catalog, as a FITS table
  ! (ROW, FLAGS, N_OUTSIDE, N_DRAWS, X, per-parameter summaries).
  ! options: numeric settings (gml_posterior_run_defaults() then edited),
  ! among them truncate and min_acceptance as for posterior_draw.
  subroutine model_posterior_run_catalog(self, ctx, catalog_path, mapping, out_path, options, &
      hdu, samples_path, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: catalog_path, mapping, out_path
    type(gml_posterior_run_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: hdu, samples_path
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_posterior_run_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_cat, c_map, c_out, c_hdu, c_samples
    opts = gml_posterior_run_defaults()
    if (present(options)) opts = options
    if (present(hdu)) opts%hdu = opt_to_c(hdu, c_hdu)
    if (present(samples_path)) opts%samples_path = opt_to_c(samples_path, c_samples)
    c_cat = to_c(catalog_path)
    c_map = to_c(mapping)
    c_out = to_c(out_path)
    call finish(gml_posterior_run_catalog(ctx%ptr, self%ptr, c_loc(c_cat), c_loc(c_map), c_loc(opts), &
      c_loc(c_out)), 'model%posterior_run_catalog', stat)
  end subroutine model_posterior_run_catalog

  ! Calibration on held-out simulations (rows first_row .. first_row +
  ! n_sims - 1 of a training-set file).
  !   sbc_pvalue   (theta_dim)
  !   ranks        (theta_dim, n_sims), optional
  !   coverage     (theta_dim + 1, levels), optional
  !   tarp_ecp     (levels + 1), optional
  !   tarp_summary (2), optional: ATC and KS p-value
  subroutine model_posterior_diagnose(self, ctx, simulations_path, first_row, n_sims, n_samples, &
      levels, sbc_pvalue, seed, ranks, coverage, tarp_ecp, tarp_summary, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: simulations_path
    integer(c_int64_t), intent(in) :: first_row, n_sims, n_samples, levels
    real(c_double), intent(out), target, contiguous :: sbc_pvalue(:)
    integer(c_int64_t), intent(in), optional :: seed
    integer(c_int64_t), intent(out), target, contiguous, optional :: ranks(:, :)
    real(c_double), intent(out), target, contiguous, optional :: coverage(:, :), tarp_ecp(:), &
      tarp_summary(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%posterior_diagnose'
    type(gml_posterior_diagnose_request), target :: req
    type(gml_posterior_diagnose_result), target :: res
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int64_t), target :: theta_dim, x_dim
    integer(c_int32_t) :: st
    st = gml_posterior_dims(self%ptr, c_loc(theta_dim), c_loc(x_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    if (bad_extent(where, 'sbc_pvalue', 1, size(sbc_pvalue, 1, c_int64_t), theta_dim, stat)) return
    c_path = to_c(simulations_path)
    req%struct_size = int(c_sizeof(req), c_int32_t)
    req%simulations_path = c_loc(c_path)
    req%first_row = first_row
    req%n_sims = n_sims
    req%n_samples = n_samples
    req%levels = levels
    req%seed = opt_i64(seed, 0_c_int64_t)
    res%struct_size = int(c_sizeof(res), c_int32_t)
    res%sbc_pvalue = c_loc(sbc_pvalue)
    res%sbc_pvalue_capacity = size(sbc_pvalue, kind=c_size_t)
    res%ranks = c_null_ptr
    res%ranks_capacity = 0
    res%coverage = c_null_ptr
    res%coverage_capacity = 0
    res%tarp_ecp = c_null_ptr
    res%tarp_ecp_capacity = 0
    res%tarp_summary = c_null_ptr
    res%tarp_summary_capacity = 0
    if (present(ranks)) then
      if (bad_extent(where, 'ranks', 1, size(ranks, 1, c_int64_t), theta_dim, stat)) return
      if (bad_extent(where, 'ranks', 2, size(ranks, 2, c_int64_t), n_sims, stat)) return
      res%ranks = c_loc(ranks)
      res%ranks_capacity = size(ranks, kind=c_size_t)
    end if
    if (present(coverage)) then
      if (bad_extent(where, 'coverage', 1, size(coverage, 1, c_int64_t), theta_dim + 1, stat)) return
      if (bad_extent(where, 'coverage', 2, size(coverage, 2, c_int64_t), levels, stat)) return
      res%coverage = c_loc(coverage)
      res%coverage_capacity = size(coverage, kind=c_size_t)
    end if
    if (present(tarp_ecp)) then
      if (bad_extent(where, 'tarp_ecp', 1, size(tarp_ecp, 1, c_int64_t), levels + 1, stat)) return
      res%tarp_ecp = c_loc(tarp_ecp)
      res%tarp_ecp_capacity = size(tarp_ecp, kind=c_size_t)
    end if
    if (present(tarp_summary)) then
      if (bad_extent(where, 'tarp_summary', 1, size(tarp_summary, 1, c_int64_t), 2_c_int64_t, stat)) return
      res%tarp_summary = c_loc(tarp_summary)
      res%tarp_summary_capacity = size(tarp_summary, kind=c_size_t)
    end if
    call finish(gml_posterior_diagnose_batch(ctx%ptr, self%ptr, c_loc(req), c_loc(res)), where, stat)
  end subroutine model_posterior_diagnose

  function gml_posterior_simulate_defaults() result(opts)
    type(gml_posterior_simulate_options), target :: opts
    call gml_posterior_simulate_options_default(c_loc(opts))
  end function gml_posterior_simulate_defaults

  ! The C simulator callback: views the library's buffers as Fortran
  ! arrays (theta_dim, n) and (x_dim, n) and calls the host's simulator.
  function simulator_adaptor(theta, n, x_out, user) bind(C, name="galaxyml_fortran_simulator") &
      result(res)
    type(c_ptr), value :: theta, x_out, user
    integer(c_int64_t), value :: n
    integer(c_int32_t) :: res
    real(c_double), pointer :: t(:, :), x(:, :)
    call c_f_pointer(theta, t, [active_theta_dim, n])
    call c_f_pointer(x_out, x, [active_x_dim, n])
    res = active_simulator(t, x, user)
  end function simulator_adaptor

  ! Training set from a host forward model: theta from the prior, x (x_dim
  ! per theta) from simulator, written to an HDF5 file. See the
  ! gml_simulator interface. The prior is the box [prior_lower,
  ! prior_upper] (theta_dim each), or prior, its JSON text
  ! (docs/posterior.md, "Priors"; the bounds absent, theta_dim given), or
  ! options%prior_sample, the c_funloc of a bind(C) function with the
  ! gml_prior_sample_fn interface (the bounds are then its support,
  ! +-huge or IEEE infinities where unbounded, or absent).
  subroutine context_posterior_simulate(self, simulator, prior_lower, prior_upper, x_dim, n, path, &
      options, theta_names, x_names, user, prior, theta_dim, stat)
    class(gml_context_t), intent(in) :: self
    procedure(gml_simulator) :: simulator
    real(c_double), intent(in), target, contiguous, optional :: prior_lower(:), prior_upper(:)
    integer(c_int64_t), intent(in) :: x_dim, n
    character(len=*), intent(in) :: path
    type(gml_posterior_simulate_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: theta_names, x_names, prior
    type(c_ptr), intent(in), optional :: user
    integer(c_int64_t), intent(in), optional :: theta_dim
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'context%posterior_simulate'
    type(gml_posterior_simulate_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_path, c_tn, c_xn, c_prior
    type(c_ptr) :: u, p_lower, p_upper
    integer(c_int64_t) :: dim
    integer(c_int32_t) :: st
    if (present(prior_lower) .neqv. present(prior_upper)) then
      call fail(where, 'give both prior_lower and prior_upper, or neither', stat)
      return
    end if
    p_lower = c_null_ptr
    p_upper = c_null_ptr
    if (present(prior_lower)) then
      dim = size(prior_lower, 1, c_int64_t)
      if (bad_extent(where, 'prior_upper', 1, size(prior_upper, 1, c_int64_t), dim, stat)) return
      if (present(theta_dim)) then
        if (bad_extent(where, 'prior_lower', 1, dim, theta_dim, stat)) return
      end if
      p_lower = c_loc(prior_lower)
      p_upper = c_loc(prior_upper)
    else if (present(theta_dim)) then
      dim = theta_dim
    else
      call fail(where, 'give prior_lower and prior_upper, or theta_dim with a prior', stat)
      return
    end if
    if (associated(active_simulator)) then
      call fail(where, 'a simulation is already running in this process', stat)
      return
    end if
    opts = gml_posterior_simulate_defaults()
    if (present(options)) opts = options
    if (present(theta_names)) opts%theta_names = opt_to_c(theta_names, c_tn)
    if (present(x_names)) opts%x_names = opt_to_c(x_names, c_xn)
    if (present(prior)) opts%prior = opt_to_c(prior, c_prior)
    u = c_null_ptr
    if (present(user)) u = user
    c_path = to_c(path)
    active_simulator => simulator
    active_theta_dim = dim
    active_x_dim = x_dim
    st = gml_posterior_simulate(self%ptr, c_funloc(simulator_adaptor), u, dim, x_dim, &
      p_lower, p_upper, n, c_loc(opts), c_loc(c_path))
    active_simulator => null()
    call finish(st, where, stat)
  end subroutine context_posterior_simulate

  ! Training set from the built-in SED model. data_dir: absent takes
  ! GML_DATA_DIR, else the source tree's data/.
  subroutine context_posterior_simulate_sed(self, n, path, data_dir, options, theta_names, x_names, stat)
    class(gml_context_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: n
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: data_dir, theta_names, x_names
    type(gml_posterior_simulate_options), intent(in), optional :: options
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_posterior_simulate_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_path, c_dir, c_tn, c_xn
    opts = gml_posterior_simulate_defaults()
    if (present(options)) opts = options
    if (present(theta_names)) opts%theta_names = opt_to_c(theta_names, c_tn)
    if (present(x_names)) opts%x_names = opt_to_c(x_names, c_xn)
    c_path = to_c(path)
    call finish(gml_posterior_simulate_sed(self%ptr, opt_to_c(data_dir, c_dir), n, c_loc(opts), &
      c_loc(c_path)), 'context%posterior_simulate_sed', stat)
  end subroutine context_posterior_simulate_sed

  ! Shape of a training-set file (complete rows).
  subroutine gml_training_set_shape(path, theta_dim, x_dim, rows, stat)
    character(len=*), intent(in) :: path
    integer(c_int64_t), intent(out), target :: theta_dim, x_dim, rows
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path
    c_path = to_c(path)
    call finish(gml_posterior_training_set_info(c_loc(c_path), c_loc(theta_dim), c_loc(x_dim), &
      c_loc(rows)), 'gml_training_set_shape', stat)
  end subroutine gml_training_set_shape

  function gml_posterior_train_defaults() result(opts)
    type(gml_posterior_train_options), target :: opts
    call gml_posterior_train_options_default(c_loc(opts))
  end function gml_posterior_train_defaults

  ! Trains a posterior estimator. estimator: "maf", "nsf" (sbi's spline
  ! couplings) or "autoregressive_nsf"; activation: "tanh" or "relu" (absent:
  ! relu for nsf, else tanh); numeric settings in options.
  subroutine context_posterior_train(self, training_set_path, model_path, options, estimator, &
      activation, checkpoint_path, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: training_set_path, model_path
    type(gml_posterior_train_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: estimator, activation, checkpoint_path
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_posterior_train_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_set, c_model, c_est, c_act, c_ckpt
    opts = gml_posterior_train_defaults()
    if (present(options)) opts = options
    if (present(estimator)) opts%estimator = opt_to_c(estimator, c_est)
    if (present(activation)) opts%activation = opt_to_c(activation, c_act)
    if (present(checkpoint_path)) opts%checkpoint_path = opt_to_c(checkpoint_path, c_ckpt)
    c_set = to_c(training_set_path)
    c_model = to_c(model_path)
    call finish(gml_posterior_train(self%ptr, c_loc(c_set), c_loc(opts), c_loc(c_model)), &
      'context%posterior_train', stat)
  end subroutine context_posterior_train

  function gml_posterior_import_defaults() result(opts)
    type(gml_posterior_import_options), target :: opts
    call gml_posterior_import_options_default(c_loc(opts))
  end function gml_posterior_import_defaults

  ! The import options of options (or the defaults) with the prior box or
  ! JSON prior and labels given. opts points into prior_lower, prior_upper,
  ! c_tn, c_xn and c_prior, so they must stay in place until the library has
  ! read it. False (after fail()) for half a box, which would otherwise be
  ! dropped unnoticed.
  function import_options(where, options, prior_lower, prior_upper, theta_names, x_names, c_tn, &
      c_xn, opts, stat, prior, c_prior) result(ok)
    character(len=*), intent(in) :: where
    type(gml_posterior_import_options), intent(in), optional :: options
    real(c_double), intent(in), target, contiguous, optional :: prior_lower(:), prior_upper(:)
    character(len=*), intent(in), optional :: theta_names, x_names, prior
    character(kind=c_char, len=:), allocatable, target, intent(inout) :: c_tn, c_xn, c_prior
    type(gml_posterior_import_options), intent(out) :: opts
    integer(c_int32_t), intent(out), optional :: stat
    logical :: ok
    ok = .false.
    opts = gml_posterior_import_defaults()
    if (present(options)) opts = options
    if (present(prior_lower) .neqv. present(prior_upper)) then
      call fail(where, 'give both prior_lower and prior_upper, or neither', stat)
      return
    end if
    if (present(prior_lower)) then
      if (bad_extent(where, 'prior_upper', 1, size(prior_upper, 1, c_int64_t), &
        size(prior_lower, 1, c_int64_t), stat)) return
      opts%prior_dim = size(prior_lower, 1, c_int64_t)
      opts%prior_lower = c_loc(prior_lower)
      opts%prior_upper = c_loc(prior_upper)
    end if
    if (present(theta_names)) opts%theta_names = opt_to_c(theta_names, c_tn)
    if (present(x_names)) opts%x_names = opt_to_c(x_names, c_xn)
    if (present(prior)) opts%prior = opt_to_c(prior, c_prior)
    ok = .true.
  end function import_options

  ! Writes simulations made elsewhere as a training set (HDF5, atomically)
  ! that posterior_train reads. Rows with NaN or infinity are dropped and
  ! counted, or refused with options%reject_nonfinite /= 0.
  !   theta                     (theta_dim, n)   C [n, theta_dim]
  !   x                         (x_dim, n)       C [n, x_dim]
  !   prior_lower, prior_upper  (theta_dim), optional: the box prior the
  !                             simulations were drawn from, stored with the
  !                             set and the model trained on it
  ! prior (optional): instead of the box, the prior as JSON text
  ! (docs/posterior.md, "Priors": uniform, normal, lognormal, independent,
  ! mvn). theta_names, x_names: comma-separated labels. report (optional)
  ! receives the counts of rows read, written and dropped.
  subroutine context_posterior_training_set_write(self, theta, x, path, options, prior_lower, &
      prior_upper, theta_names, x_names, report, stat, prior)
    class(gml_context_t), intent(in) :: self
    real(c_double), intent(in), target, contiguous :: theta(:, :), x(:, :)
    character(len=*), intent(in) :: path
    type(gml_posterior_import_options), intent(in), optional :: options
    real(c_double), intent(in), target, contiguous, optional :: prior_lower(:), prior_upper(:)
    character(len=*), intent(in), optional :: theta_names, x_names
    type(gml_posterior_import_report), intent(out), optional :: report
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), intent(in), optional :: prior
    character(len=*), parameter :: where = 'context%posterior_training_set_write'
    type(gml_posterior_import_options), target :: opts
    type(gml_posterior_import_report), target :: rep
    character(kind=c_char, len=:), allocatable, target :: c_path, c_tn, c_xn, c_prior
    integer(c_int64_t) :: n
    rep = gml_posterior_import_report(int(c_sizeof(rep), c_int32_t), 0, 0, 0, 0, 0, 0)
    if (present(report)) report = rep
    n = size(theta, 2, c_int64_t)
    if (bad_extent(where, 'x', 2, size(x, 2, c_int64_t), n, stat)) return
    if (.not. import_options(where, options, prior_lower, prior_upper, theta_names, x_names, c_tn, &
      c_xn, opts, stat, prior, c_prior)) return
    c_path = to_c(path)
    call finish(gml_posterior_training_set_write(self%ptr, c_loc(theta), c_loc(x), n, &
      size(theta, 1, c_int64_t), size(x, 1, c_int64_t), c_loc(opts), c_loc(c_path), c_loc(rep)), &
      where, stat)
    if (present(report)) report = rep
  end subroutine context_posterior_training_set_write

  ! Imports simulations from files as a training set (HDF5, atomically);
  ! each file's extension picks its format: .h5 (datasets), .fits (table
  ! columns), .npy (theta in theta_path, x in x_path), .npz (arrays) or
  ! .csv/.txt (a header line naming the columns). x_path absent: x is in
  ! theta_path.
  ! theta, x: the datasets or .npz keys (default "theta", "x"), or FITS
  ! and CSV column names, comma-separated (x = "*": every numeric column
  ! theta does not take). hdu: FITS extension name or number (absent: the
  ! first table). The other arguments as posterior_training_set_write; a
  ! source that cannot be read is GML_ERR_FORMAT, its message listing every
  ! problem found.
  subroutine context_posterior_import(self, theta_path, path, x_path, theta, x, hdu, options, &
      prior_lower, prior_upper, theta_names, x_names, report, stat, prior)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: theta_path, path
    character(len=*), intent(in), optional :: x_path, theta, x, hdu
    type(gml_posterior_import_options), intent(in), optional :: options
    real(c_double), intent(in), target, contiguous, optional :: prior_lower(:), prior_upper(:)
    character(len=*), intent(in), optional :: theta_names, x_names
    type(gml_posterior_import_report), intent(out), optional :: report
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), intent(in), optional :: prior
    character(len=*), parameter :: where = 'context%posterior_import'
    type(gml_posterior_import_options), target :: opts
    type(gml_posterior_import_report), target :: rep
    character(kind=c_char, len=:), allocatable, target :: c_theta_path, c_x_path, c_path, c_theta, &
      c_x, c_hdu, c_tn, c_xn, c_prior
    rep = gml_posterior_import_report(int(c_sizeof(rep), c_int32_t), 0, 0, 0, 0, 0, 0)
    if (present(report)) report = rep
    if (.not. import_options(where, options, prior_lower, prior_upper, theta_names, x_names, c_tn, &
      c_xn, opts, stat, prior, c_prior)) return
    if (present(theta)) opts%theta = opt_to_c(theta, c_theta)
    if (present(x)) opts%x = opt_to_c(x, c_x)
    if (present(hdu)) opts%hdu = opt_to_c(hdu, c_hdu)
    c_theta_path = to_c(theta_path)
    c_path = to_c(path)
    call finish(gml_posterior_import(self%ptr, c_loc(c_theta_path), opt_to_c(x_path, c_x_path), &
      c_loc(opts), c_loc(c_path), c_loc(rep)), where, stat)
    if (present(report)) report = rep
  end subroutine context_posterior_import

  ! ==========================================================================
  ! Merger: dynamical stage of merging galaxies
  ! ==========================================================================

  subroutine model_merger_dims(self, in_channels, image_size, n_classes, latent_dim, stat)
    class(gml_model_t), intent(in) :: self
    integer(c_int64_t), intent(out), target :: in_channels, image_size, n_classes, latent_dim
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_merger_dims(self%ptr, c_loc(in_channels), c_loc(image_size), c_loc(n_classes), &
      c_loc(latent_dim)), 'model%merger_dims', stat)
  end subroutine model_merger_dims

  ! Classifies images (through gml_merger_classify_batch, which checks the
  ! capacities once more).
  !   images   (width, height, channels, n)   C [n, channels, height, width]
  !   probs    (n_classes, n), classes (n), time_myr (n),
  !   latent   (latent_dim, n), flags (n): each optional
  ! resize: non-zero resamples images of another size to the model's.
  subroutine model_merger_classify(self, ctx, images, probs, classes, time_myr, latent, flags, &
      resize, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_float), intent(in), target, contiguous :: images(:, :, :, :)
    real(c_float), intent(out), target, contiguous, optional :: probs(:, :), time_myr(:), latent(:, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: classes(:), flags(:)
    integer(c_int32_t), intent(in), optional :: resize
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%merger_classify'
    type(gml_merger_classify_request), target :: req
    type(gml_merger_classify_result), target :: res
    integer(c_int64_t), target :: in_channels, image_size, n_classes, latent_dim
    integer(c_int64_t) :: n
    integer(c_int32_t) :: st
    st = gml_merger_dims(self%ptr, c_loc(in_channels), c_loc(image_size), c_loc(n_classes), &
      c_loc(latent_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n = size(images, 4, c_int64_t)
    if (bad_extent(where, 'images', 3, size(images, 3, c_int64_t), in_channels, stat)) return
    res%struct_size = int(c_sizeof(res), c_int32_t)
    res%probs = c_null_ptr
    res%probs_capacity = 0
    res%classes = c_null_ptr
    res%classes_capacity = 0
    res%time_myr = c_null_ptr
    res%time_myr_capacity = 0
    res%latent = c_null_ptr
    res%latent_capacity = 0
    res%flags = c_null_ptr
    res%flags_capacity = 0
    if (present(probs)) then
      if (bad_extent(where, 'probs', 1, size(probs, 1, c_int64_t), n_classes, stat)) return
      if (bad_extent(where, 'probs', 2, size(probs, 2, c_int64_t), n, stat)) return
      res%probs = c_loc(probs)
      res%probs_capacity = size(probs, kind=c_size_t)
    end if
    if (present(classes)) then
      if (bad_extent(where, 'classes', 1, size(classes, 1, c_int64_t), n, stat)) return
      res%classes = c_loc(classes)
      res%classes_capacity = size(classes, kind=c_size_t)
    end if
    if (present(time_myr)) then
      if (bad_extent(where, 'time_myr', 1, size(time_myr, 1, c_int64_t), n, stat)) return
      res%time_myr = c_loc(time_myr)
      res%time_myr_capacity = size(time_myr, kind=c_size_t)
    end if
    if (present(latent)) then
      if (bad_extent(where, 'latent', 1, size(latent, 1, c_int64_t), latent_dim, stat)) return
      if (bad_extent(where, 'latent', 2, size(latent, 2, c_int64_t), n, stat)) return
      res%latent = c_loc(latent)
      res%latent_capacity = size(latent, kind=c_size_t)
    end if
    if (present(flags)) then
      if (bad_extent(where, 'flags', 1, size(flags, 1, c_int64_t), n, stat)) return
      res%flags = c_loc(flags)
      res%flags_capacity = size(flags, kind=c_size_t)
    end if
    req%struct_size = int(c_sizeof(req), c_int32_t)
    req%images = c_loc(images)
    req%n = n
    req%channels = size(images, 3, c_int64_t)
    req%height = size(images, 2, c_int64_t)
    req%width = size(images, 1, c_int64_t)
    req%resize = opt_i32(resize, 0_c_int32_t)
    call finish(gml_merger_classify_batch(ctx%ptr, self%ptr, c_loc(req), c_loc(res)), where, stat)
  end subroutine model_merger_classify

  ! Search latents (VAE means) only.
  !   images (width, height, channels, n); latent (latent_dim, n);
  !   flags (n), optional
  subroutine model_merger_encode(self, ctx, images, latent, flags, resize, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    real(c_float), intent(in), target, contiguous :: images(:, :, :, :)
    real(c_float), intent(out), target, contiguous :: latent(:, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: flags(:)
    integer(c_int32_t), intent(in), optional :: resize
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%merger_encode'
    integer(c_int64_t), target :: in_channels, image_size, n_classes, latent_dim
    integer(c_int64_t) :: n
    type(c_ptr) :: p_flags
    integer(c_int32_t) :: st
    st = gml_merger_dims(self%ptr, c_loc(in_channels), c_loc(image_size), c_loc(n_classes), &
      c_loc(latent_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n = size(images, 4, c_int64_t)
    if (bad_extent(where, 'images', 3, size(images, 3, c_int64_t), in_channels, stat)) return
    if (bad_extent(where, 'latent', 1, size(latent, 1, c_int64_t), latent_dim, stat)) return
    if (bad_extent(where, 'latent', 2, size(latent, 2, c_int64_t), n, stat)) return
    p_flags = c_null_ptr
    if (present(flags)) then
      if (bad_extent(where, 'flags', 1, size(flags, 1, c_int64_t), n, stat)) return
      p_flags = c_loc(flags)
    end if
    st = gml_merger_encode(ctx%ptr, self%ptr, c_loc(images), n, size(images, 3, c_int64_t), &
      size(images, 2, c_int64_t), size(images, 1, c_int64_t), opt_i32(resize, 0_c_int32_t), &
      c_loc(latent), p_flags)
    call finish(st, where, stat)
  end subroutine model_merger_encode

  ! Latent index of every image of a simulator file or cutout cube.
  subroutine model_merger_index_build(self, ctx, images_path, index_path, n_indexed, resize, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: images_path, index_path
    integer(c_int64_t), intent(out), target :: n_indexed
    integer(c_int32_t), intent(in), optional :: resize
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_images, c_index
    c_images = to_c(images_path)
    c_index = to_c(index_path)
    call finish(gml_merger_index_build(ctx%ptr, self%ptr, c_loc(c_images), opt_i32(resize, 0_c_int32_t), &
      c_loc(c_index), c_loc(n_indexed)), 'model%merger_index_build', stat)
  end subroutine model_merger_index_build

  ! Entries and latent size of an index file.
  subroutine gml_merger_index_size(index_path, n_entries, latent_dim, stat)
    character(len=*), intent(in) :: index_path
    integer(c_int64_t), intent(out), target :: n_entries, latent_dim
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_index
    c_index = to_c(index_path)
    call finish(gml_merger_index_info(c_loc(c_index), c_loc(n_entries), c_loc(latent_dim)), &
      'gml_merger_index_size', stat)
  end subroutine gml_merger_index_size

  ! Shared by the two searches: fills the result's optional (k, n) arrays.
  subroutine search(self, ctx, where, req, k, n, rows, ids, distances, ssim, sim_id, time_class, &
      flags, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: where
    type(gml_merger_search_request), intent(inout), target :: req
    integer(c_int64_t), intent(in) :: k, n
    integer(c_int64_t), intent(out), target, contiguous, optional :: rows(:, :), ids(:, :)
    real(c_float), intent(out), target, contiguous, optional :: distances(:, :), ssim(:, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: sim_id(:, :), time_class(:, :), &
      flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_merger_search_result), target :: res
    res%struct_size = int(c_sizeof(res), c_int32_t)
    res%rows = c_null_ptr
    res%rows_capacity = 0
    res%ids = c_null_ptr
    res%ids_capacity = 0
    res%distances = c_null_ptr
    res%distances_capacity = 0
    res%ssim = c_null_ptr
    res%ssim_capacity = 0
    res%sim_id = c_null_ptr
    res%sim_id_capacity = 0
    res%time_class = c_null_ptr
    res%time_class_capacity = 0
    res%flags = c_null_ptr
    res%flags_capacity = 0
    if (present(rows)) then
      if (bad_extent(where, 'rows', 1, size(rows, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'rows', 2, size(rows, 2, c_int64_t), n, stat)) return
      res%rows = c_loc(rows)
      res%rows_capacity = size(rows, kind=c_size_t)
    end if
    if (present(ids)) then
      if (bad_extent(where, 'ids', 1, size(ids, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'ids', 2, size(ids, 2, c_int64_t), n, stat)) return
      res%ids = c_loc(ids)
      res%ids_capacity = size(ids, kind=c_size_t)
    end if
    if (present(distances)) then
      if (bad_extent(where, 'distances', 1, size(distances, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'distances', 2, size(distances, 2, c_int64_t), n, stat)) return
      res%distances = c_loc(distances)
      res%distances_capacity = size(distances, kind=c_size_t)
    end if
    if (present(ssim)) then
      if (bad_extent(where, 'ssim', 1, size(ssim, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'ssim', 2, size(ssim, 2, c_int64_t), n, stat)) return
      res%ssim = c_loc(ssim)
      res%ssim_capacity = size(ssim, kind=c_size_t)
    end if
    if (present(sim_id)) then
      if (bad_extent(where, 'sim_id', 1, size(sim_id, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'sim_id', 2, size(sim_id, 2, c_int64_t), n, stat)) return
      res%sim_id = c_loc(sim_id)
      res%sim_id_capacity = size(sim_id, kind=c_size_t)
    end if
    if (present(time_class)) then
      if (bad_extent(where, 'time_class', 1, size(time_class, 1, c_int64_t), k, stat)) return
      if (bad_extent(where, 'time_class', 2, size(time_class, 2, c_int64_t), n, stat)) return
      res%time_class = c_loc(time_class)
      res%time_class_capacity = size(time_class, kind=c_size_t)
    end if
    if (present(flags)) then
      if (bad_extent(where, 'flags', 1, size(flags, 1, c_int64_t), n, stat)) return
      res%flags = c_loc(flags)
      res%flags_capacity = size(flags, kind=c_size_t)
    end if
    call finish(gml_merger_search_batch(ctx%ptr, self%ptr, c_loc(req), c_loc(res)), where, stat)
  end subroutine search

  ! The k nearest index entries of each query image, nearest first.
  !   images (width, height, channels, n)
  !   rows, ids, distances, ssim, sim_id, time_class: (k, n), each optional
  !   flags (n), optional: GML_MERGER_FLAG_OUT_OF_DISTRIBUTION or 0
  subroutine model_merger_search(self, ctx, index_path, images, k, rows, ids, distances, ssim, &
      sim_id, time_class, flags, resize, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: index_path
    real(c_float), intent(in), target, contiguous :: images(:, :, :, :)
    integer(c_int64_t), intent(in) :: k
    integer(c_int64_t), intent(out), target, contiguous, optional :: rows(:, :), ids(:, :)
    real(c_float), intent(out), target, contiguous, optional :: distances(:, :), ssim(:, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: sim_id(:, :), time_class(:, :), &
      flags(:)
    integer(c_int32_t), intent(in), optional :: resize
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_merger_search_request), target :: req
    character(kind=c_char, len=:), allocatable, target :: c_index
    c_index = to_c(index_path)
    req%struct_size = int(c_sizeof(req), c_int32_t)
    req%index_path = c_loc(c_index)
    req%images = c_loc(images)
    req%n = size(images, 4, c_int64_t)
    req%channels = size(images, 3, c_int64_t)
    req%height = size(images, 2, c_int64_t)
    req%width = size(images, 1, c_int64_t)
    req%resize = opt_i32(resize, 0_c_int32_t)
    req%latents = c_null_ptr
    req%latent_dim = 0
    req%k = k
    call search(self, ctx, 'model%merger_search', req, k, req%n, rows, ids, distances, ssim, sim_id, &
      time_class, flags, stat)
  end subroutine model_merger_search

  ! As merger_search, with queries given as latents (latent_dim, n), e.g.
  ! from merger_classify, so that images are encoded once. No SSIM.
  subroutine model_merger_search_latent(self, ctx, index_path, latents, k, rows, ids, distances, &
      sim_id, time_class, flags, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: index_path
    real(c_float), intent(in), target, contiguous :: latents(:, :)
    integer(c_int64_t), intent(in) :: k
    integer(c_int64_t), intent(out), target, contiguous, optional :: rows(:, :), ids(:, :)
    real(c_float), intent(out), target, contiguous, optional :: distances(:, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: sim_id(:, :), time_class(:, :), &
      flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_merger_search_request), target :: req
    character(kind=c_char, len=:), allocatable, target :: c_index
    c_index = to_c(index_path)
    req%struct_size = int(c_sizeof(req), c_int32_t)
    req%index_path = c_loc(c_index)
    req%images = c_null_ptr
    req%n = size(latents, 2, c_int64_t)
    req%channels = 0
    req%height = 0
    req%width = 0
    req%resize = 0
    req%latents = c_loc(latents)
    req%latent_dim = size(latents, 1, c_int64_t)
    req%k = k
    call search(self, ctx, 'model%merger_search_latent', req, k, req%n, rows, ids, distances, &
      sim_id=sim_id, time_class=time_class, flags=flags, stat=stat)
  end subroutine model_merger_search_latent

  function gml_merger_simulate_defaults() result(opts)
    type(gml_merger_simulate_options), target :: opts
    call gml_merger_simulate_options_default(c_loc(opts))
  end function gml_merger_simulate_defaults

  ! Runs the merger simulator into a FITS file of images and labels.
  ! mass_ratios: absent takes 1/4, 1/3, 1/2, 1, 3/2; profile: "hernquist"
  ! or "plummer"; numeric settings in options.
  subroutine context_merger_simulate(self, out_path, options, mass_ratios, profile, n_images, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: out_path
    type(gml_merger_simulate_options), intent(in), optional :: options
    real(c_double), intent(in), target, contiguous, optional :: mass_ratios(:)
    character(len=*), intent(in), optional :: profile
    integer(c_int64_t), intent(out), target, optional :: n_images
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_merger_simulate_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_out, c_profile
    integer(c_int64_t), target :: n
    opts = gml_merger_simulate_defaults()
    if (present(options)) opts = options
    if (present(mass_ratios)) then
      opts%mass_ratios = c_loc(mass_ratios)
      opts%n_mass_ratios = size(mass_ratios, kind=c_int32_t)
    end if
    if (present(profile)) opts%profile = opt_to_c(profile, c_profile)
    c_out = to_c(out_path)
    call finish(gml_merger_simulate(self%ptr, c_loc(opts), c_loc(c_out), c_loc(n)), &
      'context%merger_simulate', stat)
    if (present(n_images)) n_images = n
  end subroutine context_merger_simulate

  function gml_merger_train_defaults() result(opts)
    type(gml_merger_train_options), target :: opts
    call gml_merger_train_options_default(c_loc(opts))
  end function gml_merger_train_defaults

  ! Trains a merger model on a simulator file; report (optional) receives
  ! the run's figures. String and array settings are arguments, numeric
  ! ones in options.
  subroutine context_merger_train(self, data_path, model_path, options, backbone, nan_policy, &
      optimizer, lr_schedule, checkpoint_path, command, validation_cameras, report, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: data_path, model_path
    type(gml_merger_train_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: backbone, nan_policy, optimizer, lr_schedule, &
      checkpoint_path, command
    integer(c_int32_t), intent(in), target, contiguous, optional :: validation_cameras(:)
    type(gml_merger_train_report), intent(out), target, optional :: report
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_merger_train_options), target :: opts
    type(gml_merger_train_report), target :: rep
    character(kind=c_char, len=:), allocatable, target :: c_data, c_model, c_bb, c_nan, c_opt, &
      c_sched, c_ckpt, c_cmd
    opts = gml_merger_train_defaults()
    if (present(options)) opts = options
    if (present(backbone)) opts%backbone = opt_to_c(backbone, c_bb)
    if (present(nan_policy)) opts%nan_policy = opt_to_c(nan_policy, c_nan)
    if (present(optimizer)) opts%optimizer = opt_to_c(optimizer, c_opt)
    if (present(lr_schedule)) opts%lr_schedule = opt_to_c(lr_schedule, c_sched)
    if (present(checkpoint_path)) opts%checkpoint_path = opt_to_c(checkpoint_path, c_ckpt)
    if (present(command)) opts%command = opt_to_c(command, c_cmd)
    if (present(validation_cameras)) then
      opts%validation_cameras = c_loc(validation_cameras)
      opts%n_validation_cameras = size(validation_cameras, kind=c_int32_t)
    end if
    c_data = to_c(data_path)
    c_model = to_c(model_path)
    rep%struct_size = int(c_sizeof(rep), c_int32_t)
    call finish(gml_merger_train(self%ptr, c_loc(c_data), c_loc(opts), c_loc(c_model), c_loc(rep)), &
      'context%merger_train', stat)
    if (present(report)) report = rep
  end subroutine context_merger_train

  ! Spectral clustering of an index's latents: labels allocated to
  ! (entries), 0-based; eigenvalues (n_clusters), optional.
  subroutine context_merger_cluster(self, index_path, n_clusters, n_neighbours, labels, eigenvalues, &
      stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: index_path
    integer(c_int64_t), intent(in) :: n_clusters, n_neighbours
    integer(c_int64_t), allocatable, target, intent(out) :: labels(:)
    real(c_double), intent(out), target, contiguous, optional :: eigenvalues(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'context%merger_cluster'
    character(kind=c_char, len=:), allocatable, target :: c_index
    integer(c_int64_t), target :: entries, latent_dim
    type(c_ptr) :: p_eig
    integer(c_int32_t) :: st
    c_index = to_c(index_path)
    st = gml_merger_index_info(c_loc(c_index), c_loc(entries), c_loc(latent_dim))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    p_eig = c_null_ptr
    if (present(eigenvalues)) then
      if (bad_extent(where, 'eigenvalues', 1, size(eigenvalues, 1, c_int64_t), n_clusters, stat)) return
      p_eig = c_loc(eigenvalues)
    end if
    allocate(labels(entries))
    call finish(gml_merger_cluster(self%ptr, c_loc(c_index), n_clusters, n_neighbours, c_loc(labels), &
      size(labels, kind=c_size_t), p_eig), where, stat)
  end subroutine context_merger_cluster

  ! ==========================================================================
  ! Diffusion: text to galaxy images (Stable Diffusion 1.x)
  ! ==========================================================================

  function gml_diffusion_defaults() result(opts)
    type(gml_diffusion_options), target :: opts
    call gml_diffusion_options_default(c_loc(opts))
  end function gml_diffusion_defaults

  ! Options with the string settings pointed at NUL-terminated copies that
  ! live in the caller's buffers for the duration of the call.
  subroutine diffusion_options(options, negative_prompt, scheduler, precision, opts, c_neg, c_sched, c_prec)
    type(gml_diffusion_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: negative_prompt, scheduler, precision
    type(gml_diffusion_options), intent(out) :: opts
    character(kind=c_char, len=:), allocatable, target, intent(inout) :: c_neg, c_sched, c_prec
    opts = gml_diffusion_defaults()
    if (present(options)) opts = options
    if (present(negative_prompt)) opts%negative_prompt = opt_to_c(negative_prompt, c_neg)
    if (present(scheduler)) opts%scheduler = opt_to_c(scheduler, c_sched)
    if (present(precision)) opts%precision = opt_to_c(precision, c_prec)
  end subroutine diffusion_options

  ! Source, dimensions and scheduler of a loaded diffusion model as JSON.
  function model_diffusion_describe(self, stat) result(json)
    class(gml_model_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_diffusion_describe(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_diffusion_describe(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'model%diffusion_describe', stat)
    json = from_buffer(buf, st)
  end function model_diffusion_describe

  ! Extents of the images a call makes, in Fortran order:
  ! shape = [width, height, channels, n]   (C [n, channels, height, width]).
  subroutine model_diffusion_image_shape(self, n_prompts, shape, options, stat)
    class(gml_model_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: n_prompts
    integer(c_int64_t), intent(out) :: shape(4)
    type(gml_diffusion_options), intent(in), optional :: options
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_diffusion_options), target :: opts
    integer(c_int64_t), target :: c_shape(4)
    integer(c_int32_t) :: st
    opts = gml_diffusion_defaults()
    if (present(options)) opts = options
    st = gml_diffusion_image_shape(self%ptr, c_loc(opts), n_prompts, c_loc(c_shape))
    if (st == GML_OK) shape = c_shape(4:1:-1)
    call finish(st, 'model%diffusion_image_shape', stat)
  end subroutine model_diffusion_image_shape

  ! Text to image: n_per_prompt images per prompt, in prompt order.
  !   prompts (n_prompts): trailing blanks are dropped
  !   images  (width, height, channels, n_prompts * n_per_prompt)
  !           C [N, C, H, W], float32 in [0, 1]
  subroutine model_diffusion_txt2img(self, ctx, prompts, images, options, negative_prompt, &
      scheduler, precision, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: prompts(:)
    real(c_float), intent(out), target, contiguous :: images(:, :, :, :)
    type(gml_diffusion_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: negative_prompt, scheduler, precision
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%diffusion_txt2img'
    type(gml_diffusion_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_neg, c_sched, c_prec
    character(kind=c_char), allocatable, target :: storage(:)
    type(c_ptr), allocatable, target :: ptrs(:)
    integer(c_int64_t), target :: c_shape(4)
    integer :: d
    integer(c_int32_t) :: st
    call diffusion_options(options, negative_prompt, scheduler, precision, opts, c_neg, c_sched, c_prec)
    st = gml_diffusion_image_shape(self%ptr, c_loc(opts), size(prompts, kind=c_int64_t), c_loc(c_shape))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    do d = 1, 4
      if (bad_extent(where, 'images', d, size(images, d, c_int64_t), c_shape(5 - d), stat)) return
    end do
    call c_string_array(prompts, storage, ptrs)
    st = gml_diffusion_txt2img(ctx%ptr, self%ptr, c_loc(ptrs), size(prompts, kind=c_int64_t), &
      c_loc(opts), c_loc(images), size(images, kind=c_size_t))
    call finish(st, where, stat)
  end subroutine model_diffusion_txt2img

  ! Image to image from references.
  !   reference (width, height, channels, 1 or n_images), float32 in [0, 1]
  !   images    (width, height, channels, n_images)
  ! With options%height and width 0 the output takes the reference's size.
  subroutine model_diffusion_img2img(self, ctx, prompts, reference, images, options, &
      negative_prompt, scheduler, precision, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: prompts(:)
    real(c_float), intent(in), target, contiguous :: reference(:, :, :, :)
    real(c_float), intent(out), target, contiguous :: images(:, :, :, :)
    type(gml_diffusion_options), intent(in), optional :: options
    character(len=*), intent(in), optional :: negative_prompt, scheduler, precision
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'model%diffusion_img2img'
    type(gml_diffusion_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_neg, c_sched, c_prec
    character(kind=c_char), allocatable, target :: storage(:)
    type(c_ptr), allocatable, target :: ptrs(:)
    integer(c_int64_t), target :: c_shape(4)
    integer(c_int64_t) :: want
    integer :: d
    integer(c_int32_t) :: st
    call diffusion_options(options, negative_prompt, scheduler, precision, opts, c_neg, c_sched, c_prec)
    st = gml_diffusion_image_shape(self%ptr, c_loc(opts), size(prompts, kind=c_int64_t), c_loc(c_shape))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    ! A height or width of 0 in the options means the reference's.
    if (opts%height == 0) c_shape(3) = size(reference, 2, c_int64_t)
    if (opts%width == 0) c_shape(4) = size(reference, 1, c_int64_t)
    do d = 1, 4
      want = c_shape(5 - d)
      if (bad_extent(where, 'images', d, size(images, d, c_int64_t), want, stat)) return
    end do
    call c_string_array(prompts, storage, ptrs)
    st = gml_diffusion_img2img(ctx%ptr, self%ptr, c_loc(ptrs), size(prompts, kind=c_int64_t), &
      c_loc(reference), size(reference, 4, c_int64_t), size(reference, 3, c_int64_t), &
      size(reference, 2, c_int64_t), size(reference, 1, c_int64_t), c_loc(opts), c_loc(images), &
      size(images, kind=c_size_t))
    call finish(st, where, stat)
  end subroutine model_diffusion_img2img

  ! CLIP token ids and Eq. 4 weights of a prompt, allocated to the
  ! encoder's context length.
  subroutine model_diffusion_tokenize(self, prompt, ids, weights, stat)
    class(gml_model_t), intent(in) :: self
    character(len=*), intent(in) :: prompt
    integer(c_int64_t), allocatable, target, intent(out) :: ids(:)
    real(c_float), allocatable, target, intent(out) :: weights(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_prompt
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    c_prompt = to_c(prompt)
    st = gml_diffusion_tokenize(self%ptr, c_loc(c_prompt), c_null_ptr, c_null_ptr, 0_c_size_t, &
      c_loc(length))
    if (st == GML_OK) then
      allocate(ids(length), weights(length))
      st = gml_diffusion_tokenize(self%ptr, c_loc(c_prompt), c_loc(ids), c_loc(weights), length, &
        c_loc(length))
    end if
    call finish(st, 'model%diffusion_tokenize', stat)
  end subroutine model_diffusion_tokenize

  ! The UNet's conditioning of a prompt, allocated to (width, n_tokens)
  ! (C [n_tokens, width]).
  subroutine model_diffusion_encode_prompt(self, ctx, prompt, embedding, restore_mean, stat)
    class(gml_model_t), intent(in) :: self
    type(gml_context_t), intent(in) :: ctx
    character(len=*), intent(in) :: prompt
    real(c_float), allocatable, target, intent(out) :: embedding(:, :)
    integer(c_int32_t), intent(in), optional :: restore_mean
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_prompt
    integer(c_int64_t), target :: n_tokens, width
    integer(c_int32_t) :: st, rm
    c_prompt = to_c(prompt)
    rm = opt_i32(restore_mean, 0_c_int32_t)
    st = gml_diffusion_encode_prompt(ctx%ptr, self%ptr, c_loc(c_prompt), rm, c_null_ptr, 0_c_size_t, &
      c_loc(n_tokens), c_loc(width))
    if (st == GML_OK) then
      allocate(embedding(width, n_tokens))
      st = gml_diffusion_encode_prompt(ctx%ptr, self%ptr, c_loc(c_prompt), rm, c_loc(embedding), &
        size(embedding, kind=c_size_t), c_loc(n_tokens), c_loc(width))
    end if
    call finish(st, 'model%diffusion_encode_prompt', stat)
  end subroutine model_diffusion_encode_prompt

  ! A diffusers pipeline folder as one galaxyml model file.
  subroutine gml_convert_diffusers(diffusers_dir, out_path, stat)
    character(len=*), intent(in) :: diffusers_dir, out_path
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_dir, c_out
    c_dir = to_c(diffusers_dir)
    c_out = to_c(out_path)
    call finish(gml_diffusion_convert(c_loc(c_dir), c_loc(c_out)), 'gml_convert_diffusers', stat)
  end subroutine gml_convert_diffusers

  function gml_diffusion_procedural_defaults() result(opts)
    type(gml_diffusion_procedural_options), target :: opts
    call gml_diffusion_procedural_options_default(c_loc(opts))
  end function gml_diffusion_procedural_defaults

  ! Procedural galaxies (docs/synthesis.md) written as a galaxy image set:
  ! a FITS cube in nanomaggies and a table of captions. tags: the
  ! morphology every galaxy must have ("disk, 2 arms"), absent to draw all
  ! from the mix; numeric settings (size, seed, mix) in options.
  subroutine context_procedural_galaxies(self, out_path, n_galaxies, tags, options, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: out_path
    integer(c_int64_t), intent(in) :: n_galaxies
    character(len=*), intent(in), optional :: tags
    type(gml_diffusion_procedural_options), intent(in), target, optional :: options
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_diffusion_procedural_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_out, c_tags
    type(c_ptr) :: p_tags
    opts = gml_diffusion_procedural_defaults()
    if (present(options)) opts = options
    p_tags = opt_to_c(tags, c_tags)
    c_out = to_c(out_path)
    call finish(gml_diffusion_procedural_galaxies(self%ptr, p_tags, n_galaxies, c_loc(opts), &
      c_loc(c_out)), 'context%procedural_galaxies', stat)
  end subroutine context_procedural_galaxies

  ! ==========================================================================
  ! WCS
  ! ==========================================================================

  ! The celestial WCS of one HDU of a FITS file. hdu: absent takes
  ! path's extended syntax or the first HDU with a WCS; alt: 'A'..'Z' for
  ! an alternate WCS, absent for the primary one.
  subroutine wcs_open(self, path, hdu, alt, stat)
    class(gml_wcs_t), intent(inout) :: self
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: hdu
    character(len=1), intent(in), optional :: alt
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path, c_hdu
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    c_path = to_c(path)
    if (present(alt)) then
      st = gml_wcs_open_alternate(c_loc(c_path), opt_to_c(hdu, c_hdu), alt, out)
    else
      st = gml_wcs_open(c_loc(c_path), opt_to_c(hdu, c_hdu), out)
    end if
    if (st == GML_OK) self%ptr = out
    call finish(st, 'wcs%open', stat)
  end subroutine wcs_open

  ! The WCS of header text (80-character cards).
  subroutine wcs_open_header(self, header, alt, stat)
    class(gml_wcs_t), intent(inout) :: self
    character(len=*), intent(in) :: header
    character(len=1), intent(in), optional :: alt
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_header
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    c_header = to_c(header)
    if (present(alt)) then
      st = gml_wcs_open_header_alternate(c_loc(c_header), len(header, c_size_t), alt, out)
    else
      st = gml_wcs_open_header(c_loc(c_header), len(header, c_size_t), out)
    end if
    if (st == GML_OK) self%ptr = out
    call finish(st, 'wcs%open_header', stat)
  end subroutine wcs_open_header

  subroutine wcs_free(self)
    class(gml_wcs_t), intent(inout) :: self
    call gml_wcs_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine wcs_free

  subroutine wcs_final(self)
    type(gml_wcs_t), intent(inout) :: self
    call gml_wcs_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine wcs_final

  ! Pixel to sky, degrees. x, y, ra, dec, status: (n) each; origin 0
  ! (numpy) or 1 (FITS); status GML_WCS_POINT_* per point, optional.
  subroutine wcs_pix2sky(self, x, y, ra, dec, origin, status, stat)
    class(gml_wcs_t), intent(in) :: self
    real(c_double), intent(in), target, contiguous :: x(:), y(:)
    real(c_double), intent(out), target, contiguous :: ra(:), dec(:)
    integer(c_int32_t), intent(in) :: origin
    integer(c_int32_t), intent(out), target, contiguous, optional :: status(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'wcs%pix2sky'
    integer(c_int64_t) :: n
    type(c_ptr) :: p_status
    n = size(x, 1, c_int64_t)
    if (bad_extent(where, 'y', 1, size(y, 1, c_int64_t), n, stat)) return
    if (bad_extent(where, 'ra', 1, size(ra, 1, c_int64_t), n, stat)) return
    if (bad_extent(where, 'dec', 1, size(dec, 1, c_int64_t), n, stat)) return
    p_status = c_null_ptr
    if (present(status)) then
      if (bad_extent(where, 'status', 1, size(status, 1, c_int64_t), n, stat)) return
      p_status = c_loc(status)
    end if
    call finish(gml_wcs_pix2sky(self%ptr, c_loc(x), c_loc(y), n, origin, c_loc(ra), c_loc(dec), &
      p_status), where, stat)
  end subroutine wcs_pix2sky

  ! Sky (degrees) to pixel; as pix2sky.
  subroutine wcs_sky2pix(self, ra, dec, x, y, origin, status, stat)
    class(gml_wcs_t), intent(in) :: self
    real(c_double), intent(in), target, contiguous :: ra(:), dec(:)
    real(c_double), intent(out), target, contiguous :: x(:), y(:)
    integer(c_int32_t), intent(in) :: origin
    integer(c_int32_t), intent(out), target, contiguous, optional :: status(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'wcs%sky2pix'
    integer(c_int64_t) :: n
    type(c_ptr) :: p_status
    n = size(ra, 1, c_int64_t)
    if (bad_extent(where, 'dec', 1, size(dec, 1, c_int64_t), n, stat)) return
    if (bad_extent(where, 'x', 1, size(x, 1, c_int64_t), n, stat)) return
    if (bad_extent(where, 'y', 1, size(y, 1, c_int64_t), n, stat)) return
    p_status = c_null_ptr
    if (present(status)) then
      if (bad_extent(where, 'status', 1, size(status, 1, c_int64_t), n, stat)) return
      p_status = c_loc(status)
    end if
    call finish(gml_wcs_sky2pix(self%ptr, c_loc(ra), c_loc(dec), n, origin, c_loc(x), c_loc(y), &
      p_status), where, stat)
  end subroutine wcs_sky2pix

  ! Mean pixel scale at the reference point, arcsec per pixel.
  function wcs_pixel_scale(self, stat) result(arcsec_per_pixel)
    class(gml_wcs_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    real(c_double), target :: arcsec_per_pixel
    arcsec_per_pixel = 0
    call finish(gml_wcs_pixel_scale(self%ptr, c_loc(arcsec_per_pixel)), 'wcs%pixel_scale', stat)
  end function wcs_pixel_scale

  ! The WCS as FITS header cards (80 characters each, no END card).
  function wcs_header(self, stat) result(cards)
    class(gml_wcs_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: cards
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_wcs_header(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_wcs_header(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'wcs%header', stat)
    cards = from_buffer(buf, st)
  end function wcs_header

  ! ==========================================================================
  ! Catalogs
  ! ==========================================================================

  ! hdu: absent takes path's extended syntax or the first table; else a
  ! number ("2") or an EXTNAME.
  subroutine catalog_open(self, path, hdu, stat)
    class(gml_catalog_t), intent(inout) :: self
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: hdu
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path, c_hdu
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    c_path = to_c(path)
    st = gml_catalog_open(c_loc(c_path), opt_to_c(hdu, c_hdu), out)
    if (st == GML_OK) self%ptr = out
    call finish(st, 'catalog%open', stat)
  end subroutine catalog_open

  subroutine catalog_free(self)
    class(gml_catalog_t), intent(inout) :: self
    call gml_catalog_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine catalog_free

  subroutine catalog_final(self)
    type(gml_catalog_t), intent(inout) :: self
    call gml_catalog_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine catalog_final

  function catalog_num_rows(self, stat) result(n_rows)
    class(gml_catalog_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    integer(c_int64_t), target :: n_rows
    n_rows = 0
    call finish(gml_catalog_num_rows(self%ptr, c_loc(n_rows)), 'catalog%num_rows', stat)
  end function catalog_num_rows

  ! The table's columns as JSON (name, type, repeat, unit, numeric).
  function catalog_columns_json(self, stat) result(json)
    class(gml_catalog_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: buf
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    st = gml_catalog_columns_json(self%ptr, c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_catalog_columns_json(self%ptr, c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'catalog%columns_json', stat)
    json = from_buffer(buf, st)
  end function catalog_columns_json

  ! A mapping's outputs as JSON (name, expr, unit), checked on the table.
  function catalog_describe_mapping(self, mapping, stat) result(json)
    class(gml_catalog_t), intent(in) :: self
    character(len=*), intent(in) :: mapping
    integer(c_int32_t), intent(out), optional :: stat
    character(len=:), allocatable :: json
    character(kind=c_char, len=:), allocatable, target :: buf, c_map
    integer(c_size_t), target :: length
    integer(c_int32_t) :: st
    c_map = to_c(mapping)
    st = gml_catalog_describe_mapping(self%ptr, c_loc(c_map), c_null_ptr, 0_c_size_t, c_loc(length))
    if (st == GML_OK) then
      allocate(character(kind=c_char, len=length) :: buf)
      st = gml_catalog_describe_mapping(self%ptr, c_loc(c_map), c_loc(buf), length, c_loc(length))
    end if
    call finish(st, 'catalog%describe_mapping', stat)
    json = from_buffer(buf, st)
  end function catalog_describe_mapping

  ! Rows first_row .. first_row + n_rows - 1 (0-based) through a mapping:
  ! values allocated to (n_outputs, n_rows) (C [n_rows, n_outputs]), NaN
  ! where flagged; flags (n_rows) GML_ROW_* bits, optional.
  subroutine catalog_read(self, mapping, first_row, n_rows, values, flags, stat)
    class(gml_catalog_t), intent(in) :: self
    character(len=*), intent(in) :: mapping
    integer(c_int64_t), intent(in) :: first_row, n_rows
    real(c_float), allocatable, target, intent(out) :: values(:, :)
    integer(c_int32_t), allocatable, target, intent(out), optional :: flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_map
    integer(c_int64_t), target :: n_outputs
    type(c_ptr) :: p_flags
    integer(c_int32_t) :: st
    c_map = to_c(mapping)
    st = gml_catalog_read(self%ptr, c_loc(c_map), first_row, n_rows, c_null_ptr, 0_c_size_t, &
      c_null_ptr, c_loc(n_outputs))
    if (st == GML_OK .and. n_rows < 0) then
      call fail('catalog%read', 'n_rows is negative', stat)
      return
    end if
    if (st == GML_OK) then
      allocate(values(n_outputs, n_rows))
      p_flags = c_null_ptr
      if (present(flags)) then
        allocate(flags(n_rows))
        p_flags = c_loc(flags)
      end if
      st = gml_catalog_read(self%ptr, c_loc(c_map), first_row, n_rows, c_loc(values), &
        size(values, kind=c_size_t), p_flags, c_loc(n_outputs))
    end if
    call finish(st, 'catalog%read', stat)
  end subroutine catalog_read

  ! As read, in float64 (exact for float64 columns such as RA and Dec).
  subroutine catalog_read_f64(self, mapping, first_row, n_rows, values, flags, stat)
    class(gml_catalog_t), intent(in) :: self
    character(len=*), intent(in) :: mapping
    integer(c_int64_t), intent(in) :: first_row, n_rows
    real(c_double), allocatable, target, intent(out) :: values(:, :)
    integer(c_int32_t), allocatable, target, intent(out), optional :: flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_map
    integer(c_int64_t), target :: n_outputs
    type(c_ptr) :: p_flags
    integer(c_int32_t) :: st
    c_map = to_c(mapping)
    st = gml_catalog_read_f64(self%ptr, c_loc(c_map), first_row, n_rows, c_null_ptr, 0_c_size_t, &
      c_null_ptr, c_loc(n_outputs))
    if (st == GML_OK .and. n_rows < 0) then
      call fail('catalog%read_f64', 'n_rows is negative', stat)
      return
    end if
    if (st == GML_OK) then
      allocate(values(n_outputs, n_rows))
      p_flags = c_null_ptr
      if (present(flags)) then
        allocate(flags(n_rows))
        p_flags = c_loc(flags)
      end if
      st = gml_catalog_read_f64(self%ptr, c_loc(c_map), first_row, n_rows, c_loc(values), &
        size(values, kind=c_size_t), p_flags, c_loc(n_outputs))
    end if
    call finish(st, 'catalog%read_f64', stat)
  end subroutine catalog_read_f64

  ! The C chunk callback: views a block as Fortran arrays for the host's.
  function chunk_adaptor(first_row, n_rows, n_outputs, values, flags, user) &
      bind(C, name="galaxyml_fortran_catalog_chunk") result(res)
    integer(c_int64_t), value :: first_row, n_rows, n_outputs
    type(c_ptr), value :: values, flags, user
    integer(c_int32_t) :: res
    real(c_float), pointer :: v(:, :)
    integer(c_int32_t), pointer :: f(:)
    call c_f_pointer(values, v, [n_outputs, n_rows])
    call c_f_pointer(flags, f, [n_rows])
    res = active_chunk(first_row, v, f, user)
  end function chunk_adaptor

  ! Streams rows through a mapping block by block (memory bounded by the
  ! block): chunk receives values (n_outputs, rows of the block). ctx,
  ! optional, brings progress and cancellation. n_rows absent or -1: to
  ! the end; chunk_rows absent or 0: CFITSIO's optimal block.
  subroutine catalog_stream(self, mapping, chunk, ctx, first_row, n_rows, chunk_rows, user, stat)
    class(gml_catalog_t), intent(in) :: self
    character(len=*), intent(in) :: mapping
    procedure(gml_catalog_chunk) :: chunk
    type(gml_context_t), intent(in), optional :: ctx
    integer(c_int64_t), intent(in), optional :: first_row, n_rows, chunk_rows
    type(c_ptr), intent(in), optional :: user
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_map
    type(c_ptr) :: p_ctx, u
    integer(c_int32_t) :: st
    if (associated(active_chunk)) then
      call fail('catalog%stream', 'a stream is already running in this process', stat)
      return
    end if
    p_ctx = c_null_ptr
    if (present(ctx)) p_ctx = ctx%ptr
    u = c_null_ptr
    if (present(user)) u = user
    c_map = to_c(mapping)
    active_chunk => chunk
    st = gml_catalog_stream(p_ctx, self%ptr, c_loc(c_map), opt_i64(first_row, 0_c_int64_t), &
      opt_i64(n_rows, -1_c_int64_t), opt_i64(chunk_rows, 0_c_int64_t), c_funloc(chunk_adaptor), u)
    active_chunk => null()
    call finish(st, 'catalog%stream', stat)
  end subroutine catalog_stream

  ! ==========================================================================
  ! Result tables
  ! ==========================================================================

  ! A FITS table destined for path, appearing there at commit. extname
  ! defaults to "RESULTS"; the provenance strings may be absent;
  ! checksum: non-zero (default) writes CHECKSUM/DATASUM.
  subroutine table_writer_create(self, path, extname, input_file, command_line, model_checksum, &
      checksum, stat)
    class(gml_table_writer_t), intent(inout) :: self
    character(len=*), intent(in) :: path
    character(len=*), intent(in), optional :: extname, input_file, command_line, model_checksum
    integer(c_int32_t), intent(in), optional :: checksum
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_table_writer_options), target :: opts
    character(kind=c_char, len=:), allocatable, target :: c_path, c_ext, c_in, c_cmd, c_ck
    type(c_ptr) :: out
    integer(c_int32_t) :: st
    call self%free()
    call gml_table_writer_options_default(c_loc(opts))
    if (present(extname)) opts%extname = opt_to_c(extname, c_ext)
    if (present(input_file)) opts%input_file = opt_to_c(input_file, c_in)
    if (present(command_line)) opts%command_line = opt_to_c(command_line, c_cmd)
    if (present(model_checksum)) opts%model_checksum = opt_to_c(model_checksum, c_ck)
    if (present(checksum)) opts%checksum = checksum
    c_path = to_c(path)
    st = gml_table_writer_create(c_loc(c_path), c_loc(opts), out)
    if (st == GML_OK) then
      self%ptr = out
      self%n_columns = 0
    end if
    call finish(st, 'table_writer%create', stat)
  end subroutine table_writer_create

  ! Declares the next column: type GML_COLUMN_*, repeat elements per row.
  ! A column's buffer for append is a Fortran array (repeat, n_rows).
  subroutine table_writer_add_column(self, name, type, repeat, unit, stat)
    class(gml_table_writer_t), intent(inout) :: self
    character(len=*), intent(in) :: name
    integer(c_int32_t), intent(in) :: type
    integer(c_int64_t), intent(in), optional :: repeat
    character(len=*), intent(in), optional :: unit
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_name, c_unit
    integer(c_int32_t) :: st
    c_name = to_c(name)
    st = gml_table_writer_add_column(self%ptr, c_loc(c_name), type, opt_i64(repeat, 1_c_int64_t), &
      opt_to_c(unit, c_unit))
    if (st == GML_OK) self%n_columns = self%n_columns + 1
    call finish(st, 'table_writer%add_column', stat)
  end subroutine table_writer_add_column

  ! A string keyword of the table header.
  subroutine table_writer_set_keyword(self, key, value, comment, stat)
    class(gml_table_writer_t), intent(in) :: self
    character(len=*), intent(in) :: key, value
    character(len=*), intent(in), optional :: comment
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_key, c_value, c_comment
    c_key = to_c(key)
    c_value = to_c(value)
    call finish(gml_table_writer_set_keyword(self%ptr, c_loc(c_key), c_loc(c_value), &
      opt_to_c(comment, c_comment)), 'table_writer%set_keyword', stat)
  end subroutine table_writer_set_keyword

  ! Appends n_rows rows: columns(i) = c_loc of column i's buffer, a
  ! contiguous Fortran array (repeat_i, n_rows) of its GML_COLUMN_* type
  ! (real(c_float), real(c_double), integer(c_int32_t), integer(c_int64_t),
  ! or character(kind=c_char) (repeat_i, n_rows) for strings).
  subroutine table_writer_append(self, n_rows, columns, stat)
    class(gml_table_writer_t), intent(in) :: self
    integer(c_int64_t), intent(in) :: n_rows
    type(c_ptr), intent(in), target, contiguous :: columns(:)
    integer(c_int32_t), intent(out), optional :: stat
    if (bad_extent('table_writer%append', 'columns', 1, size(columns, 1, c_int64_t), &
      int(self%n_columns, c_int64_t), stat)) return
    call finish(gml_table_writer_append(self%ptr, n_rows, c_loc(columns)), 'table_writer%append', stat)
  end subroutine table_writer_append

  function table_writer_num_rows(self, stat) result(n_rows)
    class(gml_table_writer_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    integer(c_int64_t), target :: n_rows
    n_rows = 0
    call finish(gml_table_writer_num_rows(self%ptr, c_loc(n_rows)), 'table_writer%num_rows', stat)
  end function table_writer_num_rows

  ! Finishes the file and renames it onto its path atomically.
  subroutine table_writer_commit(self, stat)
    class(gml_table_writer_t), intent(in) :: self
    integer(c_int32_t), intent(out), optional :: stat
    call finish(gml_table_writer_commit(self%ptr), 'table_writer%commit', stat)
  end subroutine table_writer_commit

  ! Without a commit, the partial file is deleted and the path untouched.
  subroutine table_writer_free(self)
    class(gml_table_writer_t), intent(inout) :: self
    call gml_table_writer_free(self%ptr)
    self%ptr = c_null_ptr
    self%n_columns = 0
  end subroutine table_writer_free

  subroutine table_writer_final(self)
    type(gml_table_writer_t), intent(inout) :: self
    call gml_table_writer_free(self%ptr)
    self%ptr = c_null_ptr
  end subroutine table_writer_final

  ! ==========================================================================
  ! Cutouts
  ! ==========================================================================

  function gml_cutout_defaults() result(opts)
    type(gml_cutout_options), target :: opts
    call gml_cutout_options_default(c_loc(opts))
  end function gml_cutout_defaults

  ! Delivered stamp size for bands (n_bands image paths) and options.
  subroutine gml_cutout_stamp_shape(bands, height, width, options, stat)
    character(len=*), intent(in) :: bands(:)
    integer(c_int64_t), intent(out), target :: height, width
    type(gml_cutout_options), intent(in), optional :: options
    integer(c_int32_t), intent(out), optional :: stat
    type(gml_cutout_options), target :: opts
    character(kind=c_char), allocatable, target :: storage(:)
    type(c_ptr), allocatable, target :: ptrs(:)
    opts = gml_cutout_defaults()
    if (present(options)) opts = options
    call c_string_array(bands, storage, ptrs)
    call finish(gml_cutouts_shape(c_loc(ptrs), size(bands, kind=c_int32_t), c_loc(opts), c_loc(height), &
      c_loc(width)), 'gml_cutout_stamp_shape', stat)
  end subroutine gml_cutout_stamp_shape

  ! Cuts stamps around positions from every band.
  !   bands  (n_bands) image paths (CFITSIO extended syntax allowed)
  !   ra, dec (n): degrees, or 0-based pixels with GML_CUTOUT_PIXEL
  !   stamps (width, height, n_bands, n)   C [n, n_bands, height, width]
  !   mask   (width, height, n_bands, n) integer(c_int8_t), 1 = fill; optional
  !   flags  (n) GML_CUTOUT_* bits; optional
  subroutine context_cutouts_extract(self, bands, ra, dec, stamps, options, mask, flags, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: bands(:)
    real(c_double), intent(in), target, contiguous :: ra(:), dec(:)
    real(c_float), intent(out), target, contiguous :: stamps(:, :, :, :)
    type(gml_cutout_options), intent(in), optional :: options
    integer(c_int8_t), intent(out), target, contiguous, optional :: mask(:, :, :, :)
    integer(c_int32_t), intent(out), target, contiguous, optional :: flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'context%cutouts_extract'
    type(gml_cutout_options), target :: opts
    character(kind=c_char), allocatable, target :: storage(:)
    type(c_ptr), allocatable, target :: ptrs(:)
    integer(c_int64_t), target :: height, width
    integer(c_int64_t) :: n, want(4)
    type(c_ptr) :: p_mask, p_flags
    integer :: d
    integer(c_int32_t) :: st
    opts = gml_cutout_defaults()
    if (present(options)) opts = options
    call c_string_array(bands, storage, ptrs)
    st = gml_cutouts_shape(c_loc(ptrs), size(bands, kind=c_int32_t), c_loc(opts), c_loc(height), c_loc(width))
    if (st /= GML_OK) then
      call finish(st, where, stat)
      return
    end if
    n = size(ra, 1, c_int64_t)
    if (bad_extent(where, 'dec', 1, size(dec, 1, c_int64_t), n, stat)) return
    want = [width, height, size(bands, kind=c_int64_t), n]
    do d = 1, 4
      if (bad_extent(where, 'stamps', d, size(stamps, d, c_int64_t), want(d), stat)) return
    end do
    p_mask = c_null_ptr
    if (present(mask)) then
      do d = 1, 4
        if (bad_extent(where, 'mask', d, size(mask, d, c_int64_t), want(d), stat)) return
      end do
      p_mask = c_loc(mask)
    end if
    p_flags = c_null_ptr
    if (present(flags)) then
      if (bad_extent(where, 'flags', 1, size(flags, 1, c_int64_t), n, stat)) return
      p_flags = c_loc(flags)
    end if
    st = gml_cutouts_extract(self%ptr, c_loc(ptrs), size(bands, kind=c_int32_t), c_loc(ra), c_loc(dec), n, &
      c_loc(opts), c_loc(stamps), size(stamps, kind=c_size_t), p_mask, p_flags)
    call finish(st, where, stat)
  end subroutine context_cutouts_extract

  ! Cuts stamps as cutouts_extract and writes them with a WCS each to a
  ! FITS file in options%layout. flags (n), optional.
  subroutine context_cutouts_write(self, bands, ra, dec, output_path, options, flags, stat)
    class(gml_context_t), intent(in) :: self
    character(len=*), intent(in) :: bands(:)
    real(c_double), intent(in), target, contiguous :: ra(:), dec(:)
    character(len=*), intent(in) :: output_path
    type(gml_cutout_options), intent(in), optional :: options
    integer(c_int32_t), intent(out), target, contiguous, optional :: flags(:)
    integer(c_int32_t), intent(out), optional :: stat
    character(len=*), parameter :: where = 'context%cutouts_write'
    type(gml_cutout_options), target :: opts
    character(kind=c_char), allocatable, target :: storage(:)
    character(kind=c_char, len=:), allocatable, target :: c_out
    type(c_ptr), allocatable, target :: ptrs(:)
    integer(c_int64_t) :: n
    type(c_ptr) :: p_flags
    opts = gml_cutout_defaults()
    if (present(options)) opts = options
    n = size(ra, 1, c_int64_t)
    if (bad_extent(where, 'dec', 1, size(dec, 1, c_int64_t), n, stat)) return
    p_flags = c_null_ptr
    if (present(flags)) then
      if (bad_extent(where, 'flags', 1, size(flags, 1, c_int64_t), n, stat)) return
      p_flags = c_loc(flags)
    end if
    call c_string_array(bands, storage, ptrs)
    c_out = to_c(output_path)
    call finish(gml_cutouts_write(self%ptr, c_loc(ptrs), size(bands, kind=c_int32_t), c_loc(ra), c_loc(dec), &
      n, c_loc(opts), c_loc(c_out), p_flags), where, stat)
  end subroutine context_cutouts_write

  ! A cutout cube read as float32: cube allocated to (width, height,
  ! channels, n) (C [N, C, H, W]).
  subroutine gml_read_cutout_cube(path, cube, stat)
    character(len=*), intent(in) :: path
    real(c_float), allocatable, target, intent(out) :: cube(:, :, :, :)
    integer(c_int32_t), intent(out), optional :: stat
    character(kind=c_char, len=:), allocatable, target :: c_path
    integer(c_int64_t), target :: shape(4)
    integer(c_int32_t) :: st
    c_path = to_c(path)
    st = gml_cutouts_read_shape(c_loc(c_path), c_loc(shape))
    if (st == GML_OK) then
      allocate(cube(shape(4), shape(3), shape(2), shape(1)))
      st = gml_cutouts_read(c_loc(c_path), c_loc(cube), size(cube, kind=c_size_t))
    end if
    call finish(st, 'gml_read_cutout_cube', stat)
  end subroutine gml_read_cutout_cube

end module galaxyml
