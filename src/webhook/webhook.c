/* webhook: placeholder until the module lands. */
