"""The health-system tree, its tiers, the people in it and the roles that scope what they see."""
