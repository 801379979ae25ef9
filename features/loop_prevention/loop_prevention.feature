Feature: No echo, no loop, no lost update
  A row the sync service wrote is never synced back to where it came from, yet an application
  update of such a row still propagates.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: A synced insert does not come back
    When the legacy application creates the user "alice"
    And the sync runs
    Then legacy and revamp each have 1 user
    And the revamp copy of "alice" was written by the sync service
    And the sync skipped 1 echo coming back from revamp
    And nothing was applied from revamp to legacy

  Scenario: Updates on both sides do not bounce back and forth
    Given the legacy application creates the user "alice"
    And the sync has run
    When the legacy application changes the status of "alice" to "banned"
    And the sync runs
    And the revamp application changes the email of "alice" to "alice@revamp.example.com"
    And the sync runs
    Then legacy has the user "alice" with email "alice@revamp.example.com" and status "banned"
    When I note the rows on both sides
    And the sync runs again
    Then no row changed on either side
    And nothing new was applied

  Scenario: An application update of a row the sync wrote last still propagates
    Given the legacy application creates the user "alice"
    And the sync has run
    And the revamp copy of "alice" was written by the sync service
    When the revamp application changes the status of "alice" to "Banned"
    Then the revamp copy of "alice" was written by the revamp application
    When the sync runs
    Then legacy has the user "alice" with email "alice@example.com" and status "banned"
    And both databases hold the same data
