# Warning flags for every target; ENABLE_WERROR turns them into errors (CI does).
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wformat=2 -Wno-unused-parameter)
if(ENABLE_WERROR)
  add_compile_options(-Werror)
endif()
