Feature: Deletes
  A row deleted on one side is deleted on the other; children go with their parent.

  Background:
    Given the legacy and revamp databases are empty and in sync
    And the legacy application creates the user "alice"
    And the legacy application creates the post "Alice's diary" by "alice"
    And the legacy application creates the user "bob"
    And the legacy application creates the post "Bob's notes" by "bob"
    And the sync has run

  Scenario: A user deleted on legacy disappears on revamp
    When the legacy application deletes the post "Bob's notes"
    And the legacy application deletes the user "bob"
    And the sync runs
    Then revamp no longer has the user "bob"
    And revamp still has the user "alice"
    And both databases hold the same data

  Scenario: Deleting a user on legacy removes their posts on revamp
    When the legacy application deletes the user "alice"
    And the sync runs
    Then revamp no longer has the user "alice"
    And revamp has no post "Alice's diary"
    And on revamp the post "Bob's notes" is written by "bob"
    And both databases hold the same data

  Scenario: Deleting a user on revamp removes their posts on legacy
    When the revamp application deletes the user "alice"
    And the sync runs
    Then legacy no longer has the user "alice"
    And legacy has no post "Alice's diary"
    And both databases hold the same data
