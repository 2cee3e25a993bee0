from consumers.api.serve import main

main()
