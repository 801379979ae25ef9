Feature: Idempotency
  Kafka delivers at least once: a change delivered again, or a whole topic delivered again,
  changes nothing.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: The same change delivered twice is applied once
    When Debezium publishes the new legacy user 42 "erin" twice
    And the sync runs
    Then revamp has exactly 1 user named "erin"
    And the sync skipped 1 duplicate

  Scenario: An old change delivered again does not undo a later one
    Given Debezium publishes the new revamp user 7 "otto"
    And Debezium publishes that revamp user 7 "otto" is now "Banned"
    And the sync has run
    And legacy has the user "otto" with email "otto@example.com" and status "banned"
    When Debezium delivers the creation of revamp user 7 "otto" again
    And the sync runs
    Then legacy has exactly 1 user named "otto"
    And legacy has the user "otto" with email "otto@example.com" and status "banned"
    And the sync skipped 1 duplicate

  Scenario: Concurrent updates of one user on both sides converge
    Given the legacy application creates the user "alice"
    And the sync has run
    When the legacy application changes the status of "alice" to "inactive"
    And the revamp application changes the email of "alice" to "alice@revamp.example.com"
    And the sync runs
    Then "alice" looks the same on legacy and revamp
    And both databases hold the same data

  Scenario: Redelivering every change message changes nothing
    Given both applications have been busy
    And the sync has run
    And both databases hold the same data
    When I note the rows on both sides
    And every change message is delivered again
    And the sync runs
    Then no row changed on either side
    And nothing new was applied
    And both databases hold the same data
