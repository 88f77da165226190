from wiredesk.app.cli import main

main()
