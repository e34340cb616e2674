# fish completion for nimbus-codes.
# Candidates come from the program itself ('nimbus-codes __complete'), so they
# follow its commands, options and the names in your store.

function __nimbus_codes_candidates
    set -l words (commandline -opc)
    $words[1] __complete -- $words[2..-1] (commandline -ct) 2>/dev/null
end

# --keep-order: in the program's order (a service's codes as agents see them).
complete -c nimbus-codes --keep-order -a '(__nimbus_codes_candidates)'
